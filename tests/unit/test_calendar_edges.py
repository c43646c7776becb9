"""The calendar's edges and the validation of world-format.md's fine print: answers or errors with paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pactnet.errors import WorldError, WorldIssue
from pactnet.policy import Notice, State
from pactnet.policy.clock import parse_instant
from pactnet.store.instants import instant_text, parse_instant_text
from pactnet.world import parse_world
from tests.unit.worlds import GSOMIA, PACT, event, in_force, issues, notice, resume, shown, status, world, world_text

DAILY = {"timezone": "+00:00", "term": "P1M", "renewal": "P1D", "notice_period": "P2W"}
INDEFINITE = {"timezone": "+09:00", "notice_period": "P1Y"}


def found_at(path: str, *events: str, **settings: str) -> str:
    """What the one issue at `path` says was found."""
    found = [issue.found for issue in issues(*events, **settings) if issue.path == path]
    assert found, f"no issue at {path}: {issues(*events, **settings)}"
    return found[0]


class TestTimeZones:
    """A time zone that names no zone is an error with its path, whatever the name is on disk."""

    def test_a_time_zone_naming_a_folder_of_zones_is_a_validation_error_with_its_path(self) -> None:
        assert found_at(f"agreements.{PACT}.timezone", **GSOMIA | {"timezone": "America"}) == '"America"'


class TestLongDurations:
    """Fine print: a duration over 1,000 years (of 365.2425 days; a month a twelfth of one) is an error."""

    @pytest.mark.parametrize(
        ("key", "text"),
        [("term", "P99999Y"), ("notice_period", "P5000Y"), ("renewal", "P9999Y"), ("term", "P12001M")],
    )
    def test_a_duration_over_a_thousand_years_is_an_error_at_its_path(self, key: str, text: str) -> None:
        problems = [issue for issue in issues(**GSOMIA | {key: text}) if issue.path == f"agreements.{PACT}.{key}"]
        assert problems, issues(**GSOMIA | {key: text})
        assert "1,000 years" in problems[0].expected

    @pytest.mark.parametrize("text", ["P1000Y", "P12000M", "P365242D"])
    def test_a_duration_of_a_thousand_years_or_just_under_is_allowed(self, text: str) -> None:
        settings = GSOMIA | {"term": text, "renewal": text, "notice_period": text}
        assert status(world(in_force("2016-11-23T10:00:00+09:00"), **settings), "2500-01-01T00:00:00Z").state is (
            State.IN_FORCE
        )


class TestInstantsAtTheEdges:
    """Any instant from the year 1 to the year 9999 in UTC can be written or asked about; none outside."""

    def test_an_instant_written_in_the_local_year_zero_is_the_first_instant_of_the_year_one(self) -> None:
        assert parse_instant("0000-12-31T23:00:00-01:00") == datetime(1, 1, 1, tzinfo=UTC)

    @pytest.mark.parametrize("text", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"])
    def test_an_instant_outside_the_years_one_to_9999_in_utc_is_an_error_saying_so(self, text: str) -> None:
        with pytest.raises(ValueError, match="from the year 1 to the year 9999 in UTC"):
            parse_instant(text)

    def test_fractions_of_any_length_are_read_to_the_microsecond(self) -> None:
        assert parse_instant("2019-11-23T00:00:00.1234567891+09:00").microsecond == 123456

    def test_an_event_outside_the_calendar_is_an_error_at_its_path(self) -> None:
        assert "9999-12-31T23:00:00-05:00" in found_at("events[0].at", in_force("9999-12-31T23:00:00-05:00"))

    def test_a_toml_date_time_outside_the_calendar_is_an_error_at_its_path(self) -> None:
        text = in_force("2016-11-23T10:00:00+09:00").replace('"2016-11-23T10:00:00+09:00"', "0001-01-01T00:00:00+09:00")
        assert "0001-01-01T00:00:00+09:00" in found_at("events[0].at", text)

    def test_an_agreement_entering_into_force_in_the_first_hour_west_of_utc_answers_in_utc(self) -> None:
        early = world(in_force("0000-12-31T23:00:00-01:00"), **GSOMIA | {"timezone": "-05:00"})
        answer = shown(early, "0000-12-31T23:30:00-01:00")
        assert answer["at"] == "0001-01-01T00:30:00+00:00"
        assert answer["state"] == "in_force"
        assert answer["term_ends"] == "0002-01-01T00:00:00-05:00"

    def test_a_status_in_the_year_9998_under_a_daily_renewal_gives_the_next_midnight(self) -> None:
        daily = world(in_force("2016-11-23T10:00:00Z"), **DAILY)
        assert status(daily, "9998-06-15T12:00:00Z").term_ends == datetime(9998, 6, 16, tzinfo=UTC)

    def test_a_term_end_past_the_year_9999_is_never(self) -> None:
        daily = world(in_force("2016-11-23T10:00:00Z"), **DAILY)
        late = status(daily, "9999-12-31T12:00:00Z")
        assert (late.state, late.term_ends, late.ends_at) == (State.IN_FORCE, None, None)

    def test_a_fixed_term_ending_past_the_year_9999_never_ends(self) -> None:
        fixed = world(in_force("9500-01-01T00:00:00Z"), term="P1000Y")
        late = status(fixed, "9999-12-31T23:59:59Z")
        assert (late.state, late.term_ends, late.ends_at) == (State.IN_FORCE, None, None)

    def test_a_notice_whose_end_falls_past_the_year_9999_is_pending_and_ends_nothing(self) -> None:
        noticed = world(in_force("2016-11-23T10:00:00+09:00"), notice("9999-06-01T00:00:00Z"), **INDEFINITE)
        late = status(noticed, "9999-12-31T23:59:59Z")
        assert (late.state, late.notice, late.ends_at) == (State.IN_FORCE, Notice.PENDING, None)

    def test_a_late_notice_under_a_daily_renewal_with_a_long_notice_period_counts_for_a_far_term_end(self) -> None:
        settings = DAILY | {"notice_period": "P1000Y", "late_notice": "next-term"}
        noticed = world(in_force("2016-11-23T10:00:00Z"), notice("2017-01-01T00:00:00Z"), **settings)
        assert status(noticed, "2500-01-01T00:00:00Z").ends_at == datetime(3017, 1, 2, tzinfo=UTC)

    def test_a_resumed_notice_near_the_year_9999_ends_nothing(self) -> None:
        events = (in_force("2016-11-23T10:00:00Z"), notice("9999-01-01T00:00:00Z"))
        suspended = event("9999-01-02T00:00:00Z", "suspend_notice", "BBB")
        late = world(*events, suspended, resume("9999-02-01T00:00:00Z"), **DAILY | {"notice_period": "P1Y"})
        assert status(late, "9999-12-31T00:00:00Z").ends_at is None


class TestEquivalenceRows:
    """One side of a row names one level; a level named twice says which label it clashed with."""

    def alias_world(self, rows: str) -> str:
        return f"""format = "pactnet.world/1"
[parties.AAA]
levels = ["TLP:CLEAR", "TLP:AMBER"]
aliases = {{ "TLP:WHITE" = "TLP:CLEAR" }}
[parties.BBB]
levels = ["low", "high"]
[agreements.{PACT}]
parties = ["AAA", "BBB"]
notice_period = "P90D"
equivalence = {rows}
"""

    def test_one_side_of_a_row_naming_labels_of_two_levels_is_an_error(self) -> None:
        text = self.alias_world('[{ AAA = ["TLP:CLEAR", "TLP:AMBER"], BBB = "low" }]')
        found = {issue.path: issue.found for issue in issues_of(text)}
        assert f"agreements.{PACT}.equivalence[0].AAA[1]" in found

    def test_a_level_named_twice_through_an_alias_names_the_label_it_clashed_with(self) -> None:
        text = self.alias_world('[{ AAA = "TLP:WHITE", BBB = "low" }, { AAA = "TLP:CLEAR", BBB = "high" }]')
        found = {issue.path: issue.found for issue in issues_of(text)}
        assert 'already named in row 0 as "TLP:WHITE"' in found[f"agreements.{PACT}.equivalence[1].AAA"]


def issues_of(text: str) -> list[WorldIssue]:
    with pytest.raises(WorldError) as caught:
        parse_world(text, "test")
    return list(caught.value.issues)


class TestEventErrors:
    """Errors about events name the event by its id; structural and semantic errors come out in one run."""

    def test_an_event_out_of_place_is_named_by_its_id(self) -> None:
        misplaced = event("2017-01-01T00:00:00+09:00", "resume_notice", "BBB", id='"bbb-resumes"')
        assert "'bbb-resumes'" in found_at("events[1]", in_force("2016-11-23T10:00:00+09:00"), misplaced, **GSOMIA)

    def test_a_malformed_event_is_named_by_its_id(self) -> None:
        malformed = event("2017-01-01T00:00:00+09:00", "notify_termination", id='"no-by"')
        assert "'no-by'" in found_at("events[1].by", in_force("2016-11-23T10:00:00+09:00"), malformed, **GSOMIA)

    def test_structural_and_semantic_errors_come_out_in_one_run(self) -> None:
        misplaced = event("2017-01-01T00:00:00+09:00", "resume_notice", "BBB")
        paths = [
            issue.path
            for issue in issues(in_force("2016-11-23T10:00:00+09:00"), misplaced, **GSOMIA | {"colour": "red"})
        ]
        assert f"agreements.{PACT}.colour" in paths
        assert "events[1]" in paths


class TestIds:
    """Fine print: ids and codes are letters and marks of any script and decimal digits, compared as written."""

    def parties(self, *codes: str) -> str:
        tables = "".join(f'[parties."{code}"]\nlevels = ["low"]\n' for code in codes)
        return f'format = "pactnet.world/1"\n{tables}'

    def test_a_code_written_with_a_combining_accent_is_another_party_than_the_precomposed_one(self) -> None:
        loaded = parse_world(self.parties("Caf\u00e9", "Cafe\u0301"), "test")
        assert list(loaded.parties) == ["Caf\u00e9", "Cafe\u0301"]

    @pytest.mark.parametrize("code", ["x\u00b2", "a b", "a\u200bb"])
    def test_a_code_with_a_digit_that_is_not_decimal_a_space_or_an_invisible_character_is_an_error(
        self, code: str
    ) -> None:
        assert [issue.path for issue in issues_of(self.parties(code))] == [f"parties.{code}"]


class TestOneRun:
    """Structural and semantic errors come out together wherever the world can still be read."""

    def test_a_broken_equivalence_row_does_not_hide_a_misplaced_event_of_that_agreement(self) -> None:
        misplaced = event("2017-01-01T00:00:00+09:00", "resume_notice", "BBB")
        text = world_text(in_force("2016-11-23T10:00:00+09:00"), misplaced, **GSOMIA)
        text = text.replace(
            'equivalence = [{ AAA = "LOW", BBB = "low" }]', 'equivalence = [{ AAA = "NONE", BBB = "low" }]'
        )
        paths = [issue.path for issue in issues_of(text)]
        assert f"agreements.{PACT}.equivalence[0].AAA" in paths
        assert "events[1]" in paths


class TestStoredInstants:
    """An instant as the store keeps it is fixed-width text that sorts and parses back, at the calendar's edges too."""

    @pytest.mark.parametrize(
        "at",
        [
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2019, 11, 23, 0, 0, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ],
    )
    def test_every_year_is_four_digits_and_parses_back(self, at: datetime) -> None:
        text = instant_text(at)
        assert len(text) == len("2019-11-23T00:00:00.000000Z")
        assert parse_instant_text(text) == at

    def test_the_texts_sort_as_the_instants_do(self) -> None:
        instants = [datetime(year, 6, 1, tzinfo=UTC) for year in (1, 9, 99, 999, 1000, 2019, 9999)]
        assert sorted(instant_text(at) for at in instants) == [instant_text(at) for at in instants]
