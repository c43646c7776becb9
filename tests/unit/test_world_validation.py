"""The world file loader: valid worlds load, and every error is reported with its path, all at once."""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

import pytest

from pactnet.errors import WorldError
from pactnet.world import load_world, parse_world
from tests.unit.builders import (
    DOMAIN,
    JK,
    TISA,
    US_JPN,
    US_ROK,
    build,
    event,
    issue_at,
    issues_of,
    reference,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pactnet.errors import WorldIssue

# The reference world has 12 events; an event appended to it is events[12].
NEXT = "events[12]"
LAUNCH = "rok-launch-2019-07-25"


def expect(issues: list[WorldIssue], path: str, found: str, expected: str) -> WorldIssue:
    """The issue at `path`, whose `found` and `expected` mention what they must."""
    issue = issue_at(issues, path)
    assert found in issue.found, issue
    assert expected in issue.expected, issue
    return issue


def expect_event(issues: list[WorldIssue], path: str, found: str, expected: str) -> WorldIssue:
    """An issue about an event, reported at the event or at one of its fields."""
    mine = [issue for issue in issues if issue.path == path or issue.path.startswith(f"{path}.")]
    assert mine, f"no issue at {path}; issues: {[str(issue) for issue in issues]}"
    assert any(found in issue.found and expected in issue.expected for issue in mine), mine
    return mine[0]


def with_event(
    document: dict[str, Any], at: str, kind: str, agreement: str | None = None, **fields: Any
) -> dict[str, Any]:
    document["events"].append(event(at, kind, agreement, **fields))
    return document


class TestValidWorlds:
    """Valid worlds load without a single issue."""

    @pytest.mark.parametrize("name", ["gsomia-2019", "gsomia-2019-no-suspension"])
    def test_each_bundled_world_loads_with_its_agreements_arrangement_events_and_reports(self, name: str) -> None:
        world = load_world(name)
        assert set(world.agreements) == {JK, US_ROK, US_JPN}
        assert set(world.arrangements) == {TISA}
        assert len(world.reports) == 6
        assert len(world.events) == (12 if name == "gsomia-2019" else 10)

    @pytest.mark.parametrize("name", ["gsomia-2019", "gsomia-2019-no-suspension"])
    def test_the_shared_reference_worlds_are_the_bundled_ones(self, name: str) -> None:
        shared = (DOMAIN / "worlds" / f"{name}.toml").read_bytes()
        bundled = resources.files("pactnet.worlds").joinpath(f"{name}.toml").read_bytes()
        assert shared == bundled
        assert set(parse_world(shared, name).agreements) == {JK, US_ROK, US_JPN}

    def test_a_world_with_only_a_format_and_one_party_loads(self) -> None:
        world = build({"format": "pactnet.world/1", "parties": {"A": {"levels": ["a"]}}})
        assert list(world.parties) == ["A"]
        assert not world.agreements

    def test_the_reference_world_rewritten_by_the_test_writer_loads_the_same(self) -> None:
        world = build(reference())
        original = load_world("gsomia-2019")
        assert set(world.reports) == set(original.reports)
        assert [event.at for event in world.events] == [event.at for event in original.events]

    def test_native_toml_date_times_with_an_offset_are_instants(self) -> None:
        document = reference()
        document["events"][0]["at"] = datetime.fromisoformat("1987-09-24T00:00:00-04:00")
        assert build(document).agreements[US_ROK].history.signed_at == datetime.fromisoformat(
            "1987-09-24T04:00:00+00:00"
        )

    @pytest.mark.parametrize("text", ["P1Y6M", "P2W", "P90D", "P3M"])
    def test_durations_in_years_months_weeks_and_days_are_accepted(self, text: str) -> None:
        document = reference()
        document["agreements"][US_JPN]["notice_period"] = text
        build(document)

    def test_an_agreement_with_a_fixed_term_needs_no_notice_period(self) -> None:
        document = reference()
        agreement = document["agreements"][JK]
        del agreement["renewal"], agreement["notice_period"]
        document["events"] = [e for e in document["events"] if e.get("agreement") != JK or e["at"] < "2017"]
        build(document)

    def test_an_arrangement_amended_in_scope_loads(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "amend", TISA, set={"scope": ["x"]})
        assert build(document).arrangements[TISA].scope_at(
            datetime.fromisoformat("2019-08-02T00:00:00+09:00")
        ).categories == ("x",)

    def test_one_level_under_two_labels_in_one_row_is_not_named_twice(self) -> None:
        document = reference()
        document["agreements"][US_JPN]["equivalence"][1]["JPN"] = ["特定秘密", "極秘"]
        assert build(document).agreements[US_JPN].texts[0][1].translate("USA", "JPN", "SECRET") == "特定秘密"

    def test_an_empty_rel_to_is_accepted(self) -> None:
        document = reference()
        document["reports"][0]["rel_to"] = []
        assert build(document).reports[LAUNCH].rel_to == frozenset()


class TestUnreadableText:
    """Text that is not a TOML world is one issue about the file, never a crash."""

    def test_empty_text_is_reported_as_a_world_without_format_or_parties(self) -> None:
        issues = issues_of("")
        assert {issue.expected for issue in issues} >= {
            "the required key 'format'",
            "the required key 'parties'",
        }

    def test_text_that_is_not_toml_is_reported_against_the_file(self) -> None:
        issues = issues_of("format = \n[parties")
        assert len(issues) == 1
        expect(issues, "(file)", "not TOML", "a TOML document")

    @pytest.mark.parametrize(
        "junk",
        [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe\x00\x00", b"\xc3\x28 format"],
        ids=["png", "utf-16-bom", "broken-utf-8"],
    )
    def test_binary_junk_is_reported_as_bytes_that_are_not_utf8(self, junk: bytes) -> None:
        issues = issues_of(junk)
        assert len(issues) == 1
        expect(issues, "(file)", "not UTF-8", "UTF-8")

    def test_control_bytes_that_are_valid_utf8_are_reported_as_text_that_is_not_toml(self) -> None:
        issues = issues_of(b"\x00\x01\x02\x03")
        expect(issues, "(file)", "not TOML", "a TOML document")

    def test_the_error_names_its_source_and_counts_its_issues(self) -> None:
        with pytest.raises(WorldError) as caught:
            parse_world("format = 1", "my-world.toml")
        assert caught.value.source == "my-world.toml"
        assert str(caught.value).startswith("my-world.toml: 2 errors")


class TestFormat:
    """The `format` key must be exactly pactnet.world/1."""

    @pytest.mark.parametrize(("value", "shown"), [("pactnet.world/2", '"pactnet.world/2"'), (1, "1")])
    def test_any_other_format_is_reported_at_format(self, value: object, shown: str) -> None:
        document = reference()
        document["format"] = value
        expect(issues_of(document), "format", shown, '"pactnet.world/1"')

    def test_a_missing_format_is_reported_at_format(self) -> None:
        document = reference()
        del document["format"]
        expect(issues_of(document), "format", "nothing", "format")


class TestUnknownKeys:
    """Validation is strict: an unknown key is an error at every level of the file."""

    def test_an_unknown_top_level_key_is_reported_at_its_own_name(self) -> None:
        document = reference()
        document["colour"] = "red"
        expect(issues_of(document), "colour", "colour", "parties")

    @pytest.mark.parametrize(
        ("where", "path", "allowed"),
        [
            (lambda d: d["parties"]["JPN"], "parties.JPN.colour", "levels"),
            (lambda d: d["agreements"][JK], f"agreements.{JK}.colour", "notice_period"),
            (lambda d: d["arrangements"][TISA], f"arrangements.{TISA}.colour", "members"),
            (lambda d: d["events"][0], "events[0].colour", "agreement"),
            (lambda d: d["events"][11], "events[11].colour", "report"),
            (lambda d: d["reports"][2], "reports[2].colour", "originator"),
        ],
        ids=["party", "agreement", "arrangement", "lifecycle-event", "consent-event", "report"],
    )
    def test_an_unknown_key_in_a_table_is_reported_with_its_path(
        self, where: Callable[[dict[str, Any]], dict[str, Any]], path: str, allowed: str
    ) -> None:
        document = reference()
        where(document)["colour"] = "red"
        expect(issues_of(document), path, "colour", allowed)

    def test_a_third_party_in_an_equivalence_row_is_an_unknown_key_of_the_row(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"][1]["USA"] = "CONFIDENTIAL"
        expect(issues_of(document), f"agreements.{JK}.equivalence[1].USA", "USA", "JPN")

    def test_an_unknown_key_in_an_amendment_is_reported_under_set(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "amend", JK, set={"title": "x"})
        expect(issues_of(document), f"{NEXT}.set.title", "title", "scope")

    def test_a_field_of_another_event_type_is_an_unknown_key(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "sign", JK, by="ROK")
        expect(issues_of(document), f"{NEXT}.by", "by", "agreement")

    def test_a_consent_naming_an_agreement_has_an_unknown_key(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "grant_consent", by="ROK", report=LAUNCH, to="USA"
        )
        document["events"][12]["agreement"] = JK
        expect(issues_of(document), f"{NEXT}.agreement", "agreement", "report")

    def test_an_unknown_event_type_is_reported_at_type(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "explode", JK)
        expect(issues_of(document), f"{NEXT}.type", "explode", "enter_into_force")


class TestPartyCodes:
    """Every party code named in a world must be a party of the world."""

    @pytest.mark.parametrize(
        ("change", "path"),
        [
            (lambda d: d["agreements"][JK].update(parties=["JPN", "XYZ"]), f"agreements.{JK}.parties[1]"),
            (lambda d: d["arrangements"][TISA].update(hub="XYZ"), f"arrangements.{TISA}.hub"),
            (lambda d: d["arrangements"][TISA].update(members=["XYZ", "ROK"]), f"arrangements.{TISA}.members[0]"),
            (lambda d: d["reports"][1].update(originator="XYZ"), "reports[1].originator"),
            (lambda d: d["reports"][1].update(rel_to=["ROK", "XYZ"]), "reports[1].rel_to[1]"),
        ],
        ids=["agreement-party", "hub", "member", "originator", "rel_to"],
    )
    def test_an_unknown_party_code_is_reported_where_it_is_named(
        self, change: Callable[[dict[str, Any]], None], path: str
    ) -> None:
        document = reference()
        change(document)
        expect(issues_of(document), path, "XYZ", "JPN, ROK, USA")

    def test_a_consent_to_an_unknown_party_is_reported_at_to(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "grant_consent", by="ROK", report=LAUNCH, to="XYZ"
        )
        expect(issues_of(document), f"{NEXT}.to", "XYZ", "JPN, ROK, USA")

    def test_an_alias_that_names_no_level_of_its_party_is_reported_at_the_alias(self) -> None:
        document = reference()
        document["parties"]["JPN"]["aliases"] = {"防衛秘密": "機密X"}
        expect(issues_of(document), "parties.JPN.aliases.防衛秘密", "機密X", "極秘")

    @pytest.mark.parametrize("parties", [["JPN"], ["JPN", "ROK", "USA"]], ids=["one", "three"])
    def test_an_agreement_between_other_than_two_parties_is_reported_at_parties(self, parties: list[str]) -> None:
        document = reference()
        document["agreements"][JK]["parties"] = parties
        expect(issues_of(document), f"agreements.{JK}.parties", f"an array of {len(parties)}", "2")

    def test_a_party_named_twice_in_an_agreement_is_reported(self) -> None:
        document = reference()
        document["agreements"][JK]["parties"] = ["JPN", "JPN"]
        expect(issues_of(document), f"agreements.{JK}.parties[1]", "JPN", "each party once")


class TestLevels:
    """Every label must belong to its party's scheme, and each level sits in at most one equivalence row."""

    def test_a_level_outside_the_scheme_is_reported_at_its_row_and_party(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"][1]["JPN"] = "防衛秘密"
        expect(issues_of(document), f"agreements.{JK}.equivalence[1].JPN", "防衛秘密", "秘, 極秘, 機密")

    def test_a_label_outside_the_scheme_in_an_array_is_reported_at_its_position(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"][0]["JPN"] = ["極秘", "TOP SECRET"]
        expect(issues_of(document), f"agreements.{JK}.equivalence[0].JPN[1]", "TOP SECRET", "特定秘密")

    def test_a_level_named_in_two_rows_is_reported_at_the_second(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"][1]["JPN"] = "極秘"
        expect(issues_of(document), f"agreements.{JK}.equivalence[1].JPN", "極秘", "one row")

    def test_an_alias_in_a_second_row_names_its_level_a_second_time(self) -> None:
        document = reference()
        document["agreements"][US_JPN]["equivalence"] = [
            {"USA": "SECRET", "JPN": "極秘"},
            {"USA": "TOP SECRET", "JPN": "特定秘密"},
        ]
        expect(issues_of(document), f"agreements.{US_JPN}.equivalence[1].JPN", "特定秘密", "one row")

    def test_a_level_named_in_two_rows_on_the_other_side_is_reported_too(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"][1]["ROK"] = "군사II급비밀"
        expect(issues_of(document), f"agreements.{JK}.equivalence[1].ROK", "군사II급비밀", "one row")

    def test_a_report_level_outside_its_originators_scheme_is_reported_at_level(self) -> None:
        document = reference()
        document["reports"][0]["level"] = "SECRET"
        expect(issues_of(document), "reports[0].level", "SECRET", "군사II급비밀")

    def test_an_empty_equivalence_is_reported(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"] = []
        expect(issues_of(document), f"agreements.{JK}.equivalence", "an array of 0", "non-empty")

    def test_a_missing_equivalence_is_reported(self) -> None:
        document = reference()
        del document["agreements"][JK]["equivalence"]
        expect(issues_of(document), f"agreements.{JK}.equivalence", "nothing", "equivalence")


class TestInstants:
    """Every instant is RFC 3339 with an offset."""

    @pytest.mark.parametrize(
        ("value", "shown"),
        [
            ("2019-11-23T00:00:00", "2019-11-23T00:00:00"),
            (datetime(2019, 11, 23), "2019-11-23T00:00:00"),  # noqa: DTZ001 - a TOML local date-time
            (date(2019, 11, 23), "2019-11-23"),
            ("yesterday", "yesterday"),
            ("2019-13-01T00:00:00+09:00", "2019-13-01"),
            (20191123, "20191123"),
        ],
        ids=["string-without-offset", "toml-local-date-time", "toml-date", "words", "month-13", "number"],
    )
    def test_an_event_instant_without_an_offset_or_malformed_is_reported_at_at(self, value: object, shown: str) -> None:
        document = reference()
        document["events"][3]["at"] = value
        expect(issues_of(document), "events[3].at", shown, "offset")

    @pytest.mark.parametrize(
        "value", ["20191123T000000+09:00", "2019-W47-6T00:00:00+09:00"], ids=["basic-format", "week-date"]
    )
    def test_an_iso_8601_instant_that_is_not_rfc_3339_is_reported(self, value: object) -> None:
        document = reference()
        document["events"][3]["at"] = value
        issue_at(issues_of(document), "events[3].at")

    def test_a_malformed_report_creation_instant_is_reported_at_created(self) -> None:
        document = reference()
        document["reports"][4]["created"] = "2019-06-01 09:00"
        expect(issues_of(document), "reports[4].created", "2019-06-01 09:00", "offset")

    def test_a_malformed_consent_end_is_reported_at_until(self) -> None:
        document = reference()
        document["events"][11]["until"] = "2019-12-01"
        expect(issues_of(document), "events[11].until", "2019-12-01", "offset")

    def test_a_missing_instant_is_reported_at_at(self) -> None:
        document = reference()
        del document["events"][3]["at"]
        expect(issues_of(document), "events[3].at", "nothing", "at")


class TestDurations:
    """Durations are positive, in years, months, weeks and days only."""

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("term", "PT1H"),
            ("term", "P1YT12H"),
            ("renewal", "P0D"),
            ("renewal", "P0Y0M"),
            ("notice_period", "-P90D"),
            ("notice_period", "P1.5Y"),
            ("notice_period", "90 days"),
            ("notice_period", "P"),
            ("notice_period", 90),
        ],
    )
    def test_a_malformed_zero_negative_or_timed_duration_is_reported_at_its_key(self, key: str, value: object) -> None:
        document = reference()
        document["agreements"][JK][key] = value
        issue = issue_at(issues_of(document), f"agreements.{JK}.{key}")
        assert str(value) in issue.found
        assert issue.expected

    def test_renewal_without_a_term_is_reported_at_renewal(self) -> None:
        document = reference()
        del document["agreements"][JK]["term"]
        expect(issues_of(document), f"agreements.{JK}.renewal", "renewal", "term")

    @pytest.mark.parametrize("agreement", [US_JPN, JK], ids=["indefinite", "renewing"])
    def test_a_missing_notice_period_is_reported_unless_the_term_is_fixed(self, agreement: str) -> None:
        document = reference()
        del document["agreements"][agreement]["notice_period"]
        expect(issues_of(document), f"agreements.{agreement}.notice_period", "nothing", "notice period")

    @pytest.mark.parametrize("value", ["Mars/Olympus", "+9", "+25:00", "JST+9"])
    def test_an_unknown_timezone_is_reported_at_timezone(self, value: str) -> None:
        document = reference()
        document["agreements"][JK]["timezone"] = value
        expect(issues_of(document), f"agreements.{JK}.timezone", value, "UTC offset")

    @pytest.mark.parametrize(
        ("key", "choices"),
        [
            ("late_notice", '"next-term", "lapse"'),
            ("resumed_notice", '"at-term-end", "immediate"'),
            ("onward_release", '"originator-consent", "forbidden"'),
        ],
    )
    def test_an_unknown_choice_is_reported_with_the_choices(self, key: str, choices: str) -> None:
        document = reference()
        document["agreements"][JK][key] = "sometimes"
        expect(issues_of(document), f"agreements.{JK}.{key}", "sometimes", choices)

    def test_an_unknown_consent_rule_of_an_arrangement_is_reported(self) -> None:
        document = reference()
        document["arrangements"][TISA]["consent"] = "never"
        expect(issues_of(document), f"arrangements.{TISA}.consent", "never", '"per-item", "standing"')


class TestLifecycleEvents:
    """An event that makes no sense where it stands is a validation error."""

    def test_a_notice_before_entry_into_force_is_reported(self) -> None:
        document = reference()
        document["events"].insert(0, event("2016-11-01T00:00:00+09:00", "notify_termination", JK, by="ROK"))
        expect_event(issues_of(document), "events[0]", "notify_termination", "entry into force")

    @pytest.mark.parametrize("kind", ["terminate", "amend"])
    def test_other_lifecycle_events_before_entry_into_force_are_reported(self, kind: str) -> None:
        fields = {"set": {"scope": ["dprk-missile"]}} if kind == "amend" else {}
        document = with_event(reference(), "2016-11-23T09:59:59+09:00", kind, JK, **fields)
        expect_event(issues_of(document), NEXT, kind, "entry into force")

    def test_resuming_a_pending_notice_is_reported(self) -> None:
        document = with_event(reference(), "2019-09-01T00:00:00+09:00", "resume_notice", JK, by="ROK")
        expect_event(issues_of(document), NEXT, "pending", "suspended")

    def test_resuming_when_there_is_no_notice_is_reported(self) -> None:
        document = with_event(reference(), "2018-09-01T00:00:00+09:00", "resume_notice", JK, by="ROK")
        expect_event(issues_of(document), NEXT, "resume_notice", "suspended")

    @pytest.mark.parametrize("kind", ["suspend_notice", "withdraw_notice"])
    def test_suspending_or_withdrawing_when_there_is_no_notice_is_reported(self, kind: str) -> None:
        document = with_event(reference(), "2018-09-01T00:00:00+09:00", kind, JK, by="ROK")
        expect_event(issues_of(document), NEXT, kind, "pending")

    def test_a_notice_from_a_party_of_the_world_outside_the_agreement_is_reported(self) -> None:
        document = with_event(reference(), "2018-09-01T00:00:00+09:00", "notify_termination", JK, by="USA")
        expect_event(issues_of(document), NEXT, "USA", "JPN, ROK")

    def test_a_notice_from_an_unknown_party_is_reported(self) -> None:
        document = with_event(reference(), "2018-09-01T00:00:00+09:00", "notify_termination", JK, by="XYZ")
        expect_event(issues_of(document), NEXT, "XYZ", "JPN, ROK")

    def test_a_notice_without_by_is_reported_at_by(self) -> None:
        document = with_event(reference(), "2018-09-01T00:00:00+09:00", "notify_termination", JK)
        expect(issues_of(document), f"{NEXT}.by", "nothing", "by")

    @pytest.mark.parametrize(
        ("at", "kind"),
        [
            ("2019-09-01T00:00:00+09:00", "suspend_notice"),
            ("2019-09-01T00:00:00+09:00", "withdraw_notice"),
            ("2020-09-01T00:00:00+09:00", "resume_notice"),
            ("2020-09-01T00:00:00+09:00", "withdraw_notice"),
        ],
        ids=["suspend-pending", "withdraw-pending", "resume-suspended", "withdraw-suspended"],
    )
    def test_only_the_party_that_gave_the_notice_may_act_on_it(self, at: str, kind: str) -> None:
        document = with_event(reference(), at, kind, JK, by="JPN")
        expect_event(issues_of(document), NEXT, "JPN", "ROK")

    @pytest.mark.parametrize(
        ("at", "state"),
        [("2019-09-01T00:00:00+09:00", "pending"), ("2020-09-01T00:00:00+09:00", "suspended")],
    )
    def test_a_second_notice_while_one_is_pending_or_suspended_is_reported(self, at: str, state: str) -> None:
        document = with_event(reference(), at, "notify_termination", JK, by="JPN")
        expect_event(issues_of(document), NEXT, state, "one notice at a time")

    def test_a_notice_on_a_fixed_term_agreement_is_reported(self) -> None:
        document = reference()
        del document["agreements"][JK]["renewal"]
        document["events"] = [e for e in document["events"] if e.get("agreement") != JK or e["at"] < "2017"]
        document["events"].append(event("2017-05-01T00:00:00+09:00", "notify_termination", JK, by="ROK"))
        issues = issues_of(document)
        assert len(issues) == 1, issues
        expect_event(issues, f"events[{len(document['events']) - 1}]", "fixed-term", "no notice")

    def test_an_event_after_termination_by_mutual_consent_is_reported(self) -> None:
        document = with_event(reference(), "2018-01-01T00:00:00+09:00", "terminate", JK)
        with_event(document, "2018-06-01T00:00:00+09:00", "amend", JK, set={"scope": ["dprk-missile"]})
        issues = issues_of(document)
        assert sorted(issue.path for issue in issues) == ["events[10]", "events[13]", "events[8]", "events[9]"]
        expect_event(issues, "events[8]", "notify_termination", "2018-01-01T00:00:00+09:00")
        expect_event(issues, "events[9]", "suspend_notice", "ended")
        expect_event(issues, "events[10]", "withdraw_notice", "ended")
        expect_event(issues, "events[13]", "amend", "ended")

    def test_an_event_at_the_very_instant_of_a_mutual_termination_is_reported(self) -> None:
        document = with_event(reference(), "2018-01-01T00:00:00+09:00", "terminate", JK)
        document["events"] = document["events"][:8] + document["events"][11:]
        with_event(document, "2017-12-31T15:00:00+00:00", "amend", JK, set={"scope": ["dprk-missile"]})
        issues = issues_of(document)
        assert [issue.path for issue in issues] == ["events[10]"], issues
        expect_event(issues, "events[10]", "amend", "ended")

    def test_an_event_at_the_very_instant_a_notice_ends_the_agreement_is_reported(self) -> None:
        document = reference("gsomia-2019-no-suspension")
        with_event(document, "2019-11-23T00:00:00+09:00", "suspend_notice", JK, by="ROK")
        expect_event(issues_of(document), "events[10]", "suspend_notice", "2019-11-23T00:00:00+09:00")

    def test_an_event_one_second_before_a_notice_ends_the_agreement_is_accepted(self) -> None:
        document = reference("gsomia-2019-no-suspension")
        with_event(document, "2019-11-22T23:59:59+09:00", "suspend_notice", JK, by="ROK")
        build(document)

    def test_an_event_after_a_fixed_term_ended_is_reported(self) -> None:
        document = reference()
        del document["agreements"][JK]["renewal"]
        document["events"] = [e for e in document["events"] if e.get("agreement") != JK or e["at"] < "2017"]
        with_event(document, "2017-11-23T00:00:00+09:00", "terminate", JK)
        issues = issues_of(document)
        expect_event(issues, f"events[{len(document['events']) - 1}]", "terminate", "ended")

    def test_a_second_entry_into_force_is_reported(self) -> None:
        document = with_event(reference(), "2018-01-01T00:00:00+09:00", "enter_into_force", JK)
        expect_event(issues_of(document), NEXT, "enter_into_force", "one entry into force")

    def test_a_notice_on_an_arrangement_is_reported(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "notify_termination", TISA, by="USA")
        expect_event(issues_of(document), NEXT, "notify_termination", "no terms or notices")

    def test_an_event_of_an_unknown_agreement_is_reported_at_agreement(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "sign", "JPN-ROK-GSOMIA-2012")
        expect(issues_of(document), f"{NEXT}.agreement", "JPN-ROK-GSOMIA-2012", JK)

    def test_an_event_after_an_arrangement_ended_is_reported(self) -> None:
        document = with_event(reference(), "2020-01-01T00:00:00+09:00", "terminate", TISA)
        with_event(document, "2020-01-02T00:00:00+09:00", "amend", TISA, set={"scope": ["dprk-missile"]})
        expect_event(issues_of(document), "events[13]", "amend", "ended")


class TestConsents:
    """A consent names a report of the world, comes from its originator, and is revoked only while in effect."""

    def test_a_consent_by_a_party_other_than_the_originator_is_reported_at_by(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "grant_consent", by="JPN", report=LAUNCH, to="USA"
        )
        expect(issues_of(document), f"{NEXT}.by", "JPN", "ROK")

    def test_a_revocation_by_a_party_other_than_the_originator_is_reported_at_by(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "revoke_consent", by="USA", report=LAUNCH, arrangement=TISA
        )
        expect(issues_of(document), f"{NEXT}.by", "USA", "ROK")

    def test_a_consent_to_an_unknown_report_is_reported_at_report(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "grant_consent", by="ROK", report="nope", to="USA"
        )
        expect(issues_of(document), f"{NEXT}.report", "nope", "report")

    def test_a_consent_under_an_unknown_arrangement_is_reported_at_arrangement(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "grant_consent", by="ROK", report=LAUNCH, arrangement=JK
        )
        expect(issues_of(document), f"{NEXT}.arrangement", JK, TISA)

    @pytest.mark.parametrize("both", [True, False])
    def test_a_consent_names_exactly_one_of_to_and_arrangement(self, both: bool) -> None:
        fields = {"to": "USA", "arrangement": TISA} if both else {}
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "grant_consent", by="ROK", report=LAUNCH, **fields
        )
        expect_event(issues_of(document), NEXT, "to", "exactly one")

    def test_an_until_not_after_the_grant_is_reported_at_until(self) -> None:
        document = with_event(
            reference(),
            "2019-08-01T00:00:00+09:00",
            "grant_consent",
            by="ROK",
            report=LAUNCH,
            to="USA",
            until="2019-07-31T15:00:00Z",
        )
        expect(issues_of(document), f"{NEXT}.until", "2019-07-31T15:00:00Z", "after the grant")

    def test_revoking_a_consent_never_granted_is_reported(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "revoke_consent", by="ROK", report=LAUNCH, to="USA"
        )
        expect_event(issues_of(document), NEXT, "revoke_consent", "in effect")

    def test_revoking_a_consent_before_its_grant_is_reported(self) -> None:
        document = with_event(
            reference(), "2019-07-25T05:59:59+09:00", "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA
        )
        expect_event(issues_of(document), NEXT, "revoke_consent", "in effect")

    def test_revoking_a_consent_at_its_until_instant_is_reported(self) -> None:
        document = reference()
        document["events"][11]["until"] = "2019-08-01T00:00:00+09:00"
        with_event(document, "2019-08-01T00:00:00+09:00", "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA)
        expect_event(issues_of(document), NEXT, "revoke_consent", "in effect")

    def test_revoking_a_consent_one_second_before_its_until_is_accepted(self) -> None:
        document = reference()
        document["events"][11]["until"] = "2019-08-01T00:00:00+09:00"
        with_event(document, "2019-07-31T23:59:59+09:00", "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA)
        build(document)

    def test_revoking_a_consent_twice_is_reported_at_the_second_revocation(self) -> None:
        document = reference()
        for at in ("2019-08-01T00:00:00+09:00", "2019-08-02T00:00:00+09:00"):
            with_event(document, at, "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA)
        issues = issues_of(document)
        assert [issue.path for issue in issues] == ["events[13]"], issues

    def test_revoking_a_consent_to_another_target_is_reported(self) -> None:
        document = with_event(
            reference(), "2019-08-01T00:00:00+09:00", "revoke_consent", by="ROK", report=LAUNCH, to="JPN"
        )
        expect_event(issues_of(document), NEXT, "revoke_consent", "in effect")


class TestIdentifiers:
    """Ids are unique: events among events, reports among reports, agreements and arrangements together."""

    def test_a_duplicate_event_id_is_reported_at_the_second_event(self) -> None:
        document = reference()
        document["events"][5]["id"] = "usa-rok-sign"
        expect(issues_of(document), "events[5].id", "usa-rok-sign", "unique")

    def test_a_duplicate_report_id_is_reported_at_the_second_report(self) -> None:
        document = reference()
        document["reports"][3]["id"] = LAUNCH
        expect(issues_of(document), "reports[3].id", LAUNCH, "unique")

    def test_an_arrangement_with_the_id_of_an_agreement_is_reported(self) -> None:
        document = reference()
        document["arrangements"] = {JK: document["arrangements"][TISA]}
        for item in document["events"]:
            if item.get("agreement") == TISA:
                item["agreement"] = JK
            if item.get("arrangement") == TISA:
                item["arrangement"] = JK
        expect(issues_of(document), f"arrangements.{JK}", JK, "unique across agreements and arrangements")

    @pytest.mark.parametrize("bad", ["two words", "semi;colon", ""])
    def test_an_event_id_with_other_characters_is_reported(self, bad: str) -> None:
        document = reference()
        document["events"][0]["id"] = bad
        expect(issues_of(document), "events[0].id", f'"{bad}"', "letters, digits")

    def test_a_report_without_an_id_is_reported(self) -> None:
        document = reference()
        del document["reports"][2]["id"]
        expect(issues_of(document), "reports[2].id", "nothing", "id")


class TestArrangements:
    """A hub is not a member, and an arrangement is amended in its scope only."""

    def test_a_hub_among_the_members_is_reported_at_members(self) -> None:
        document = reference()
        document["arrangements"][TISA]["members"] = ["JPN", "ROK", "USA"]
        expect(issues_of(document), f"arrangements.{TISA}.members", "USA", "other than the hub")

    def test_an_arrangement_amended_in_equivalence_is_reported_at_the_key(self) -> None:
        document = with_event(
            reference(),
            "2019-08-01T00:00:00+09:00",
            "amend",
            TISA,
            set={"equivalence": [{"JPN": "秘", "ROK": "군사III급비밀"}]},
        )
        expect(issues_of(document), f"{NEXT}.set.equivalence", "equivalence", "scope")

    def test_an_arrangement_with_one_member_is_reported(self) -> None:
        document = reference()
        document["arrangements"][TISA]["members"] = ["JPN"]
        expect(issues_of(document), f"arrangements.{TISA}.members", "an array of 1", "2")

    @pytest.mark.parametrize("key", ["hub", "members", "scope"])
    def test_a_missing_required_key_of_an_arrangement_is_reported(self, key: str) -> None:
        document = reference()
        del document["arrangements"][TISA][key]
        expect(issues_of(document), f"arrangements.{TISA}.{key}", "nothing", key)

    def test_an_empty_amendment_is_reported(self) -> None:
        document = with_event(reference(), "2019-08-01T00:00:00+09:00", "amend", JK, set={})
        expect(issues_of(document), f"{NEXT}.set", "empty", "scope")

    def test_an_amended_equivalence_is_validated_like_the_original(self) -> None:
        document = with_event(
            reference(),
            "2019-08-01T00:00:00+09:00",
            "amend",
            JK,
            set={"equivalence": [{"JPN": "秘", "ROK": "군사III급비밀"}, {"JPN": "秘", "ROK": "군사II급비밀"}]},
        )
        expect(issues_of(document), f"{NEXT}.set.equivalence[1].JPN", "秘", "one row")


class TestAllErrorsAtOnce:
    """Every error of a world is reported together, not only the first."""

    def test_five_different_errors_give_five_issues_each_at_its_path(self) -> None:
        document = reference()
        document["parties"]["USA"]["colour"] = "blue"
        document["agreements"][JK]["equivalence"][1]["JPN"] = "防衛秘密"
        document["agreements"][US_ROK]["notice_period"] = "P0D"
        document["events"][4]["at"] = "2014-12-26T00:00:00"
        document["reports"][5]["level"] = "SECRET"
        with_event(document, "2018-09-01T00:00:00+09:00", "notify_termination", US_JPN, by="ROK")
        issues = issues_of(document)
        assert len(issues) >= 6
        paths = {issue.path for issue in issues}
        assert paths >= {
            "parties.USA.colour",
            f"agreements.{JK}.equivalence[1].JPN",
            f"agreements.{US_ROK}.notice_period",
            "events[4].at",
            "reports[5].level",
        }
        expect_event(issues, NEXT, "ROK", "USA, JPN")

    def test_every_issue_has_a_path_a_found_and_an_expected(self) -> None:
        document = reference()
        document["format"] = "pactnet.world/0"
        document["arrangements"][TISA]["hub"] = "JPN"
        del document["agreements"][US_JPN]["title"]
        document["agreements"][US_JPN]["renewal"] = "P1Y"
        for issue in issues_of(document):
            assert issue.path
            assert issue.found
            assert issue.expected

    def test_the_events_of_an_agreement_with_another_error_are_still_checked(self) -> None:
        document = reference()
        document["agreements"][JK]["late_notice"] = "sometimes"
        with_event(document, "2018-09-01T00:00:00+09:00", "notify_termination", JK, by="USA")
        issues = issues_of(document)
        issue_at(issues, f"agreements.{JK}.late_notice")
        expect_event(issues, NEXT, "USA", "JPN, ROK")

    def test_an_empty_rel_to_is_judged_the_same_next_to_another_error(self) -> None:
        document = reference()
        document["reports"][0]["rel_to"] = []
        document["reports"][0]["level"] = "SECRET"
        issues = issues_of(document)
        issue_at(issues, "reports[0].level")
        assert "reports[0].rel_to" not in {issue.path for issue in issues}
