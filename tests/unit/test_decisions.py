"""Transfer decisions: who may pass which report to whom, when, by which route, marked how; and why not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from pactnet.errors import PolicyError
from pactnet.policy import Code, Decision, Leg, Marking, decide
from pactnet.world import load_world
from tests.unit.builders import DOMAIN, JK, TISA, US_JPN, US_ROK, build, checks, event, instant, reference

if TYPE_CHECKING:
    from pactnet.policy import World

LAUNCH = "rok-launch-2019-07-25"  # ROK, 군사II급비밀, dprk-missile, relay consent under TISA from 07-25 06:00
TRACK = "jpn-impact-track-2019-07-25"  # JPN, 特定秘密, dprk-missile
NAVY = "rok-pla-navy-2019-07-23"  # ROK, 군사II급비밀, pla-navy
POINT = "rok-launch-point-confidential"  # ROK, 군사III급비밀, dprk-missile, no consent
LEVEL_ONE = "rok-nuclear-level-one"  # ROK, 군사I급비밀, dprk-nuclear
KIMITSU = "jpn-kimitsu"  # JPN, 機密, dprk-missile

IN_2019 = "2019-08-01T12:00:00+09:00"  # JK in force (a notice pending)
AFTER_JK = "2019-11-23T06:00:00+09:00"  # JK ended, in the world without suspension
JK_END = "2019-11-23T00:00:00+09:00"
USA_AUS = "USA-AUS-2002"


def ask(world: World, report: str, holder: str, to: str, at: str) -> Decision:
    return decide(world, world.reports[report], holder, to, instant(at))


def codes(decision: Decision) -> set[Code]:
    return {reason.code for reason in decision.reasons}


def reason(decision: Decision, code: Code) -> str:
    """The message of the reason with this code."""
    messages = [item.message for item in decision.reasons if item.code is code]
    assert messages, f"no {code} among {decision.reasons}"
    return messages[0]


def refused(decision: Decision, *expected: Code) -> None:
    assert not decision.allowed, decision
    assert codes(decision) >= set(expected), decision.reasons
    assert decision.route == ()
    assert decision.legs == ()
    assert decision.marking is None


def no_suspension() -> dict[str, Any]:
    return reference("gsomia-2019-no-suspension")


def add_report(document: dict[str, Any], report_id: str, originator: str, level: str, **fields: Any) -> None:
    document["reports"].append({"id": report_id, "originator": originator, "level": level, **fields})


def add_agreement(
    document: dict[str, Any], agreement_id: str, parties: list[str], equivalence: list[dict[str, Any]], **fields: Any
) -> None:
    """An indefinite agreement with a 90-day notice period, entering into force on 2000-01-01."""
    document["agreements"][agreement_id] = {
        "parties": parties,
        "equivalence": equivalence,
        "notice_period": "P90D",
        **fields,
    }
    document["events"].append(event("2000-01-01T00:00:00+00:00", "enter_into_force", agreement_id))


def with_australia(document: dict[str, Any]) -> dict[str, Any]:
    """Australia as a fourth party, bound to the United States only, and a member of TISA."""
    document["parties"]["AUS"] = {"levels": ["PROTECTED", "SECRET", "TOP SECRET"]}
    add_agreement(
        document,
        USA_AUS,
        ["USA", "AUS"],
        [
            {"USA": "CONFIDENTIAL", "AUS": "PROTECTED"},
            {"USA": "SECRET", "AUS": "SECRET"},
            {"USA": "TOP SECRET", "AUS": "TOP SECRET"},
        ],
    )
    document["arrangements"][TISA]["members"] = ["JPN", "ROK", "AUS"]
    return document


def consent(document: dict[str, Any], at: str, report: str, by: str = "ROK", **target: Any) -> None:
    document["events"].append(event(at, "grant_consent", by=by, report=report, **target))


def with_amendment(document: dict[str, Any], at: str, equivalence: list[dict[str, Any]]) -> dict[str, Any]:
    document["events"].append(event(at, "amend", JK, set={"equivalence": equivalence}))
    return document


@pytest.fixture(scope="module")
def gsomia() -> World:
    return load_world("gsomia-2019")


@pytest.fixture(scope="module")
def counterfactual() -> World:
    return load_world("gsomia-2019-no-suspension")


class TestDirectTransfer:
    """A direct transfer under an agreement in force is marked with the first label of the matching row."""

    def test_a_tokutei_himitsu_report_from_japan_arrives_in_korea_as_military_secret_level_two(
        self, gsomia: World
    ) -> None:
        decision = ask(gsomia, TRACK, "JPN", "ROK", IN_2019)
        assert decision.allowed
        assert decision.route == ("JPN", "ROK")
        assert decision.legs == (Leg("JPN", "ROK", JK, "군사II급비밀"),)
        assert decision.marking == Marking("JPN", "군사II급비밀")
        assert decision.reasons == ()

    def test_a_korean_secret_report_arrives_in_japan_as_gokuhi_the_first_label_of_its_row(self, gsomia: World) -> None:
        decision = ask(gsomia, LAUNCH, "ROK", "JPN", IN_2019)
        assert decision.allowed
        assert decision.legs == (Leg("ROK", "JPN", JK, "極秘"),)
        assert decision.marking == Marking("ROK", "極秘")

    def test_the_marking_follows_the_order_of_the_labels_in_the_row(self) -> None:
        document = reference()
        document["agreements"][JK]["equivalence"][0]["JPN"] = ["特定秘密", "極秘"]
        decision = ask(build(document), LAUNCH, "ROK", "JPN", IN_2019)
        assert decision.marking == Marking("ROK", "特定秘密")

    def test_a_korean_confidential_report_arrives_in_japan_as_hi(self, gsomia: World) -> None:
        decision = ask(gsomia, POINT, "ROK", "JPN", IN_2019)
        assert (decision.allowed, decision.marking) == (True, Marking("ROK", "秘"))

    def test_a_japanese_secret_report_arrives_in_the_united_states_as_secret(self, gsomia: World) -> None:
        decision = ask(gsomia, TRACK, "JPN", "USA", IN_2019)
        assert decision.legs == (Leg("JPN", "USA", US_JPN, "SECRET"),)

    def test_the_direct_route_is_preferred_to_the_hub_when_both_are_open(self, gsomia: World) -> None:
        decision = ask(gsomia, LAUNCH, "ROK", "JPN", IN_2019)  # the relay consent is in effect as well
        assert decision.route == ("ROK", "JPN")
        assert decision.hub is None

    def test_the_same_instant_asked_in_another_offset_gives_the_same_answer(self, gsomia: World) -> None:
        in_tokyo = ask(gsomia, LAUNCH, "ROK", "JPN", IN_2019)
        in_utc = decide(gsomia, gsomia.reports[LAUNCH], "ROK", "JPN", instant(IN_2019).astimezone(UTC))
        assert in_tokyo == in_utc


class TestLevelsWithoutARow:
    """R2: a level with no equivalence row cannot be shared under the agreement."""

    def test_korean_level_one_is_refused_under_the_japan_korea_agreement(self, gsomia: World) -> None:
        decision = ask(gsomia, LEVEL_ONE, "ROK", "JPN", IN_2019)
        refused(decision, Code.NO_EQUIVALENT_LEVEL)
        message = reason(decision, Code.NO_EQUIVALENT_LEVEL)
        assert JK in message
        assert "군사I급비밀" in message

    def test_japanese_kimitsu_is_refused_under_the_japan_korea_agreement(self, gsomia: World) -> None:
        decision = ask(gsomia, KIMITSU, "JPN", "ROK", IN_2019)
        refused(decision, Code.NO_EQUIVALENT_LEVEL)
        assert "機密" in reason(decision, Code.NO_EQUIVALENT_LEVEL)

    def test_an_amendment_that_removes_a_row_refuses_that_level_from_its_instant(self) -> None:
        document = with_amendment(reference(), "2019-09-01T00:00:00+09:00", [{"JPN": "極秘", "ROK": "군사II급비밀"}])
        world = build(document)
        assert ask(world, POINT, "ROK", "JPN", "2019-08-31T23:59:59+09:00").allowed
        refused(ask(world, POINT, "ROK", "JPN", "2019-09-01T00:00:00+09:00"), Code.NO_EQUIVALENT_LEVEL)

    def test_an_amendment_that_adds_a_row_allows_that_level_from_its_instant(self) -> None:
        rows: list[dict[str, Any]] = [
            {"JPN": ["極秘", "特定秘密"], "ROK": "군사II급비밀"},
            {"JPN": "秘", "ROK": "군사III급비밀"},
            {"JPN": "機密", "ROK": "군사I급비밀"},
        ]
        world = build(with_amendment(reference(), "2019-09-01T00:00:00+09:00", rows))
        refused(ask(world, LEVEL_ONE, "ROK", "JPN", "2019-08-31T23:59:59+09:00"), Code.NO_EQUIVALENT_LEVEL)
        decision = ask(world, LEVEL_ONE, "ROK", "JPN", "2019-09-01T00:00:00+09:00")
        assert decision.marking == Marking("ROK", "機密")


class TestScope:
    """An agreement carries only the categories in its scope; a report with no categories needs "*"."""

    def test_a_report_outside_the_agreement_scope_is_refused_with_the_scope_named(self) -> None:
        document = reference()
        document["agreements"][JK]["scope"] = ["dprk-missile", "dprk-nuclear"]
        decision = ask(build(document), NAVY, "ROK", "JPN", IN_2019)
        refused(decision, Code.OUT_OF_SCOPE)
        assert f"{JK} covers dprk-missile, dprk-nuclear; not pla-navy" in reason(decision, Code.OUT_OF_SCOPE)

    def test_a_report_with_one_category_outside_the_scope_is_refused(self) -> None:
        document = reference()
        document["agreements"][JK]["scope"] = ["dprk-missile"]
        add_report(document, "mixed", "ROK", "군사III급비밀", categories=["dprk-missile", "pla-navy"])
        refused(ask(build(document), "mixed", "ROK", "JPN", IN_2019), Code.OUT_OF_SCOPE)

    def test_a_report_with_no_categories_travels_under_a_scope_of_everything(self) -> None:
        document = reference()
        add_report(document, "plain", "ROK", "군사III급비밀")
        assert ask(build(document), "plain", "ROK", "JPN", IN_2019).allowed

    def test_a_report_with_no_categories_is_not_covered_by_a_list_of_categories(self) -> None:
        document = reference()
        document["agreements"][JK]["scope"] = ["dprk-missile", "dprk-nuclear", "pla-navy"]
        add_report(document, "plain", "ROK", "군사III급비밀")
        refused(ask(build(document), "plain", "ROK", "JPN", IN_2019), Code.OUT_OF_SCOPE)

    def test_an_amended_scope_applies_from_the_amendment_on(self) -> None:
        document = reference()
        document["events"].append(event("2019-09-01T00:00:00+09:00", "amend", JK, set={"scope": ["dprk-missile"]}))
        world = build(document)
        assert ask(world, NAVY, "ROK", "JPN", "2019-08-31T23:59:59+09:00").allowed
        refused(ask(world, NAVY, "ROK", "JPN", "2019-09-01T00:00:00+09:00"), Code.OUT_OF_SCOPE)


class TestAgreementInForce:
    """An agreement carries transfers from its entry into force (inclusive) to its end (exclusive)."""

    def early_world(self) -> World:
        document = reference()
        add_report(document, "early", "ROK", "군사III급비밀", categories=["pla-navy"], created="2015-01-01T00:00:00Z")
        return build(document)

    def test_a_transfer_before_entry_into_force_is_refused_naming_the_instant_asked(self) -> None:
        """The message says only what is known at the instant: not when the agreement will enter into force."""
        decision = ask(self.early_world(), "early", "ROK", "JPN", "2016-11-23T09:59:59+09:00")
        refused(decision, Code.AGREEMENT_NOT_IN_FORCE)
        message = reason(decision, Code.AGREEMENT_NOT_IN_FORCE)
        assert JK in message
        assert "2016-11-23T09:59:59+09:00" in message
        assert "2016-11-23T10:00:00+09:00" not in message

    def test_a_transfer_at_the_instant_of_entry_into_force_is_allowed(self) -> None:
        assert ask(self.early_world(), "early", "ROK", "JPN", "2016-11-23T10:00:00+09:00").allowed

    def test_a_transfer_one_second_before_the_end_is_allowed(self, counterfactual: World) -> None:
        decision = ask(counterfactual, POINT, "ROK", "JPN", "2019-11-22T23:59:59+09:00")
        assert decision.route == ("ROK", "JPN")

    def test_a_transfer_at_the_very_instant_of_the_end_is_refused_with_the_end_named(
        self, counterfactual: World
    ) -> None:
        decision = ask(counterfactual, POINT, "ROK", "JPN", JK_END)
        refused(decision, Code.AGREEMENT_NOT_IN_FORCE)
        message = reason(decision, Code.AGREEMENT_NOT_IN_FORCE)
        assert JK in message
        assert JK_END in message

    def test_a_suspended_notice_keeps_the_agreement_carrying_transfers(self, gsomia: World) -> None:
        assert ask(gsomia, POINT, "ROK", "JPN", AFTER_JK).route == ("ROK", "JPN")

    def test_a_termination_by_mutual_consent_stops_transfers_from_its_instant(self) -> None:
        document = reference()
        document["events"].insert(8, event("2018-03-01T00:00:00+09:00", "terminate", JK))
        document["events"] = [e for e in document["events"] if e.get("agreement") != JK or e["at"] < "2019"]
        add_report(document, "older", "JPN", "秘", created="2017-01-01T00:00:00+09:00")
        world = build(document)
        assert ask(world, "older", "JPN", "ROK", "2018-02-28T23:59:59+09:00").allowed
        refused(ask(world, "older", "JPN", "ROK", "2018-03-01T00:00:00+09:00"), Code.AGREEMENT_NOT_IN_FORCE)

    def test_a_signed_agreement_not_in_force_carries_nothing(self) -> None:
        document = reference()
        document["events"] = [e for e in document["events"] if e.get("id") != "gsomia-in-force"]
        document["events"] = [e for e in document["events"] if e.get("agreement") != JK or e["type"] == "sign"]
        decision = ask(build(document), POINT, "ROK", "JPN", IN_2019)
        refused(decision, Code.AGREEMENT_NOT_IN_FORCE)


class TestRelayThroughAHub:
    """G3-G5: without a direct agreement, an item goes through the hub with the originator's consent."""

    def test_with_the_direct_agreement_ended_a_consented_item_goes_through_the_united_states(
        self, counterfactual: World
    ) -> None:
        decision = ask(counterfactual, LAUNCH, "ROK", "JPN", AFTER_JK)
        assert decision.allowed
        assert decision.route == ("ROK", "USA", "JPN")
        assert decision.hub == "USA"
        assert decision.legs == (Leg("ROK", "USA", US_ROK, "SECRET"), Leg("USA", "JPN", US_JPN, "極秘"))
        assert decision.marking == Marking("ROK", "極秘")
        assert decision.reasons == ()

    def test_a_relayed_decision_notes_why_the_direct_route_was_not_taken(self, counterfactual: World) -> None:
        decision = ask(counterfactual, LAUNCH, "ROK", "JPN", AFTER_JK)
        assert Code.AGREEMENT_NOT_IN_FORCE in {note.code for note in decision.notes}

    def test_without_the_originators_consent_for_the_item_the_hub_does_not_pass_it_on(
        self, counterfactual: World
    ) -> None:
        decision = ask(counterfactual, POINT, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.NO_RELAY_CONSENT)
        assert POINT in reason(decision, Code.NO_RELAY_CONSENT)
        assert TISA in reason(decision, Code.NO_RELAY_CONSENT)

    def test_a_consent_holds_from_its_grant_inclusive(self) -> None:
        document = no_suspension()
        document["events"][-1]["at"] = "2019-11-23T06:00:00+09:00"
        world = build(document)
        refused(ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T05:59:59+09:00"), Code.NO_RELAY_CONSENT)
        assert ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T06:00:00+09:00").allowed

    def test_a_revoked_consent_stops_the_relay_from_the_revocation_exclusive(self) -> None:
        document = no_suspension()
        document["events"].append(
            event("2019-11-23T03:00:00+09:00", "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA)
        )
        world = build(document)
        assert ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T02:59:59+09:00").route == ("ROK", "USA", "JPN")
        refused(ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T03:00:00+09:00"), Code.NO_RELAY_CONSENT)

    def test_an_expired_consent_stops_the_relay_at_until_exclusive(self) -> None:
        document = no_suspension()
        document["events"][-1]["until"] = "2019-11-23T06:00:00+09:00"
        world = build(document)
        assert ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T05:59:59+09:00").allowed
        refused(ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T06:00:00+09:00"), Code.NO_RELAY_CONSENT)

    def test_a_consent_renewed_after_a_revocation_opens_the_relay_again(self) -> None:
        document = no_suspension()
        document["events"].append(
            event("2019-11-23T03:00:00+09:00", "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA)
        )
        consent(document, "2019-11-23T05:00:00+09:00", LAUNCH, arrangement=TISA)
        world = build(document)
        refused(ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T04:59:59+09:00"), Code.NO_RELAY_CONSENT)
        assert ask(world, LAUNCH, "ROK", "JPN", "2019-11-23T05:00:00+09:00").allowed

    def test_a_consent_to_release_to_the_recipient_is_not_a_consent_to_relay(self) -> None:
        document = no_suspension()
        consent(document, "2019-06-01T00:00:00+09:00", POINT, to="JPN")
        refused(ask(build(document), POINT, "ROK", "JPN", AFTER_JK), Code.NO_RELAY_CONSENT)

    def test_a_standing_consent_lets_the_hub_pass_on_every_item_in_scope(self) -> None:
        document = no_suspension()
        document["arrangements"][TISA]["consent"] = "standing"
        decision = ask(build(document), POINT, "ROK", "JPN", AFTER_JK)
        assert decision.route == ("ROK", "USA", "JPN")
        assert decision.marking == Marking("ROK", "秘")

    def test_an_item_outside_the_arrangement_scope_is_refused_with_the_scope_named(self, counterfactual: World) -> None:
        decision = ask(counterfactual, NAVY, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.OUT_OF_ARRANGEMENT_SCOPE)
        assert "TISA-2014 covers dprk-nuclear, dprk-missile; not pla-navy" in reason(
            decision, Code.OUT_OF_ARRANGEMENT_SCOPE
        )

    def test_an_item_with_no_categories_is_outside_an_arrangement_scope(self) -> None:
        document = no_suspension()
        document["arrangements"][TISA]["consent"] = "standing"
        add_report(document, "plain", "ROK", "군사III급비밀")
        refused(ask(build(document), "plain", "ROK", "JPN", AFTER_JK), Code.OUT_OF_ARRANGEMENT_SCOPE)

    def test_an_amended_arrangement_scope_applies_from_the_amendment_on(self) -> None:
        document = no_suspension()
        document["arrangements"][TISA]["consent"] = "standing"
        document["events"].append(event("2019-12-01T00:00:00+09:00", "amend", TISA, set={"scope": ["pla-navy"]}))
        world = build(document)
        refused(ask(world, NAVY, "ROK", "JPN", "2019-11-30T23:59:59+09:00"), Code.OUT_OF_ARRANGEMENT_SCOPE)
        assert ask(world, NAVY, "ROK", "JPN", "2019-12-01T00:00:00+09:00").route == ("ROK", "USA", "JPN")

    def test_a_leg_agreement_outside_its_scope_stops_the_relay(self) -> None:
        document = no_suspension()
        document["agreements"][US_JPN]["scope"] = ["dprk-nuclear"]
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.OUT_OF_SCOPE)
        assert US_JPN in reason(decision, Code.OUT_OF_SCOPE)

    def test_an_arrangement_not_yet_in_force_relays_nothing(self) -> None:
        document = no_suspension()
        for item in document["events"]:
            if item.get("id") == "tisa-in-force":
                item["at"] = "2020-01-01T00:00:00+09:00"
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.ARRANGEMENT_NOT_IN_FORCE)
        assert TISA in reason(decision, Code.ARRANGEMENT_NOT_IN_FORCE)

    def test_an_arrangement_that_ended_relays_nothing(self) -> None:
        document = no_suspension()
        document["events"].append(event("2019-11-01T00:00:00+09:00", "terminate", TISA))
        refused(ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK), Code.ARRANGEMENT_NOT_IN_FORCE)

    def test_a_first_leg_agreement_not_yet_in_force_stops_the_relay(self) -> None:
        document = no_suspension()
        for item in document["events"]:
            if item.get("agreement") == US_ROK:
                item["at"] = "2020-01-01T00:00:00-04:00"
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.AGREEMENT_NOT_IN_FORCE)
        assert any(US_ROK in item.message for item in decision.reasons if item.code is Code.AGREEMENT_NOT_IN_FORCE)

    def test_a_second_leg_agreement_that_ended_stops_the_relay(self) -> None:
        document = no_suspension()
        document["events"].append(event("2019-11-01T00:00:00+09:00", "terminate", US_JPN))
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.AGREEMENT_NOT_IN_FORCE)
        assert any(US_JPN in item.message for item in decision.reasons if item.code is Code.AGREEMENT_NOT_IN_FORCE)

    def test_a_missing_leg_agreement_stops_the_relay(self) -> None:
        document = no_suspension()
        del document["agreements"][US_JPN]
        document["events"] = [e for e in document["events"] if e.get("agreement") != US_JPN]
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.NO_LEG_AGREEMENT)
        assert "USA" in reason(decision, Code.NO_LEG_AGREEMENT)
        assert "JPN" in reason(decision, Code.NO_LEG_AGREEMENT)

    def test_a_level_a_leg_cannot_map_stops_the_relay(self) -> None:
        document = no_suspension()
        document["events"].append(
            event("2019-11-23T00:00:00+09:00", "grant_consent", by="ROK", report=LEVEL_ONE, arrangement=TISA)
        )
        document["agreements"][US_JPN]["equivalence"] = document["agreements"][US_JPN]["equivalence"][1:]
        decision = ask(build(document), LEVEL_ONE, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.NO_EQUIVALENT_LEVEL)
        assert any(US_JPN in item.message for item in decision.reasons if item.code is Code.NO_EQUIVALENT_LEVEL)

    def test_a_hub_outside_rel_to_is_refused(self) -> None:
        document = no_suspension()
        document["reports"][0]["rel_to"] = ["JPN"]
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        refused(decision, Code.NOT_IN_REL_TO)
        assert "USA" in reason(decision, Code.NOT_IN_REL_TO)

    def test_a_relay_within_rel_to_is_allowed_without_the_holder_in_it(self) -> None:
        document = no_suspension()
        document["reports"][0]["rel_to"] = ["JPN", "USA"]
        assert ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK).route == ("ROK", "USA", "JPN")


class TestRelTo:
    """rel_to must contain every party on the route except the holder."""

    def test_a_recipient_outside_rel_to_is_refused_even_directly(self) -> None:
        document = reference()
        document["reports"][0]["rel_to"] = ["USA"]
        decision = ask(build(document), LAUNCH, "ROK", "JPN", IN_2019)
        refused(decision, Code.NOT_IN_REL_TO)
        assert "JPN" in reason(decision, Code.NOT_IN_REL_TO)

    def test_the_holder_need_not_be_in_rel_to(self) -> None:
        document = reference()
        document["reports"][0]["rel_to"] = ["JPN"]
        assert ask(build(document), LAUNCH, "ROK", "JPN", IN_2019).allowed

    def test_an_empty_rel_to_lets_the_report_go_nowhere(self) -> None:
        document = reference()
        document["reports"][0]["rel_to"] = []
        refused(ask(build(document), LAUNCH, "ROK", "JPN", IN_2019), Code.NOT_IN_REL_TO)


class TestOnwardRelease:
    """R7, R28: a holder who is not the originator passes an item on only with the originator's consent."""

    def test_a_holder_without_the_originators_consent_is_refused(self, gsomia: World) -> None:
        decision = ask(gsomia, LAUNCH, "JPN", "USA", IN_2019)
        refused(decision, Code.NO_ORIGINATOR_CONSENT)
        message = reason(decision, Code.NO_ORIGINATOR_CONSENT)
        assert "ROK" in message
        assert "USA" in message

    def test_a_holder_with_the_originators_consent_passes_the_item_on_marked_for_the_originator(self) -> None:
        document = reference()
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="USA")
        decision = ask(build(document), LAUNCH, "JPN", "USA", IN_2019)
        assert decision.allowed
        assert decision.legs == (Leg("JPN", "USA", US_JPN, "SECRET"),)
        assert decision.marking == Marking("ROK", "SECRET")

    def test_a_consent_to_another_recipient_does_not_count(self) -> None:
        document = with_australia(reference())
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="AUS")
        refused(ask(build(document), LAUNCH, "JPN", "USA", IN_2019), Code.NO_ORIGINATOR_CONSENT)

    def test_an_onward_consent_that_expired_does_not_count(self) -> None:
        document = reference()
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="USA", until=IN_2019)
        world = build(document)
        assert ask(world, LAUNCH, "JPN", "USA", "2019-08-01T11:59:59+09:00").allowed
        refused(ask(world, LAUNCH, "JPN", "USA", IN_2019), Code.NO_ORIGINATOR_CONSENT)

    def test_a_forbidding_agreement_refuses_onward_release_even_with_consent(self) -> None:
        document = reference()
        document["agreements"][JK]["onward_release"] = "forbidden"
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="USA")
        decision = ask(build(document), LAUNCH, "JPN", "USA", IN_2019)
        refused(decision, Code.ONWARD_RELEASE_FORBIDDEN)
        assert JK in reason(decision, Code.ONWARD_RELEASE_FORBIDDEN)

    def test_onward_release_stays_forbidden_after_the_originator_holder_agreement_ended(self) -> None:
        document = no_suspension()
        document["agreements"][JK]["onward_release"] = "forbidden"
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="USA")
        refused(ask(build(document), LAUNCH, "JPN", "USA", "2020-06-01T00:00:00+09:00"), Code.ONWARD_RELEASE_FORBIDDEN)

    def test_onward_release_still_needs_consent_after_the_originator_holder_agreement_ended(
        self, counterfactual: World
    ) -> None:
        refused(ask(counterfactual, LAUNCH, "JPN", "USA", "2020-06-01T00:00:00+09:00"), Code.NO_ORIGINATOR_CONSENT)

    def test_after_the_originator_holder_agreement_ended_a_consented_item_still_goes_at_its_held_level(self) -> None:
        document = no_suspension()
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="USA")
        decision = ask(build(document), LAUNCH, "JPN", "USA", "2020-06-01T00:00:00+09:00")
        assert decision.marking == Marking("ROK", "SECRET")

    def test_the_held_level_follows_the_originator_holder_agreement_as_it_reads_at_the_instant(self) -> None:
        document = with_amendment(reference(), "2019-09-01T00:00:00+09:00", [{"JPN": "秘", "ROK": "군사II급비밀"}])
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="USA")
        world = build(document)
        assert ask(world, LAUNCH, "JPN", "USA", "2019-08-31T00:00:00+09:00").marking == Marking("ROK", "SECRET")
        assert ask(world, LAUNCH, "JPN", "USA", "2019-09-01T00:00:00+09:00").marking == Marking("ROK", "CONFIDENTIAL")

    def test_handing_an_item_back_to_its_originator_needs_no_consent(self, gsomia: World) -> None:
        decision = ask(gsomia, LAUNCH, "JPN", "ROK", IN_2019)
        assert decision.allowed
        assert decision.marking == Marking("ROK", "군사II급비밀")

    def test_handing_an_item_back_to_its_originator_is_allowed_under_a_forbidding_agreement(self) -> None:
        document = reference()
        document["agreements"][JK]["onward_release"] = "forbidden"
        assert ask(build(document), LAUNCH, "JPN", "ROK", IN_2019).allowed

    def test_a_holder_with_no_agreement_with_the_originator_is_refused(self) -> None:
        document = with_australia(reference())
        decision = ask(build(document), LAUNCH, "AUS", "USA", IN_2019)
        refused(decision, Code.NO_HOLDER_AGREEMENT)
        assert "AUS" in reason(decision, Code.NO_HOLDER_AGREEMENT)

    def test_a_holder_whose_agreement_with_the_originator_cannot_map_the_level_is_refused(self, gsomia: World) -> None:
        decision = ask(gsomia, LEVEL_ONE, "JPN", "USA", IN_2019)
        refused(decision, Code.HOLDER_LEVEL_UNMAPPED)

    def test_a_relay_by_a_holder_needs_consent_to_the_final_recipient(self) -> None:
        world = build(with_australia(no_suspension()))
        decision = ask(world, LAUNCH, "JPN", "AUS", AFTER_JK)
        refused(decision, Code.NO_ORIGINATOR_CONSENT)
        assert "AUS" in reason(decision, Code.NO_ORIGINATOR_CONSENT)

    def test_a_relay_by_a_holder_with_both_consents_goes_through_the_hub(self) -> None:
        document = with_australia(no_suspension())
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="AUS")
        decision = ask(build(document), LAUNCH, "JPN", "AUS", AFTER_JK)
        assert decision.route == ("JPN", "USA", "AUS")
        assert decision.legs == (Leg("JPN", "USA", US_JPN, "SECRET"), Leg("USA", "AUS", USA_AUS, "SECRET"))
        assert decision.marking == Marking("ROK", "SECRET")

    def test_a_relay_by_a_holder_also_needs_the_arrangements_consent(self) -> None:
        document = with_australia(no_suspension())
        consent(document, "2019-07-30T00:00:00+09:00", LAUNCH, to="AUS")
        document["events"].append(
            event("2019-11-01T00:00:00+09:00", "revoke_consent", by="ROK", report=LAUNCH, arrangement=TISA)
        )
        refused(ask(build(document), LAUNCH, "JPN", "AUS", AFTER_JK), Code.NO_RELAY_CONSENT)


class TestReportCreation:
    """A report is not shared before its `created` instant."""

    def test_a_report_asked_about_before_it_was_created_is_refused(self, gsomia: World) -> None:
        decision = ask(gsomia, LAUNCH, "ROK", "JPN", "2019-07-25T05:49:59+09:00")
        refused(decision, Code.REPORT_NOT_CREATED)
        assert "2019-07-25T05:50:00+09:00" in reason(decision, Code.REPORT_NOT_CREATED)

    def test_a_report_is_shared_from_its_created_instant(self, gsomia: World) -> None:
        assert ask(gsomia, LAUNCH, "ROK", "JPN", "2019-07-25T05:50:00+09:00").allowed

    def test_a_report_without_created_can_be_shared_whenever_an_agreement_allows(self) -> None:
        document = reference()
        add_report(document, "timeless", "ROK", "군사III급비밀")
        assert ask(build(document), "timeless", "ROK", "JPN", "2017-01-01T00:00:00+09:00").allowed


class TestSeveralAgreements:
    """Between the same parties, the first agreement in file order that allows the transfer is used."""

    SECOND = "JPN-ROK-SECOND"

    def second_agreement(self, document: dict[str, Any], rows: list[dict[str, Any]], *, first: bool) -> None:
        add_agreement(document, self.SECOND, ["JPN", "ROK"], rows)
        if first:
            agreements = document["agreements"]
            document["agreements"] = {self.SECOND: agreements.pop(self.SECOND), **agreements}

    def test_the_first_agreement_in_file_order_carries_the_transfer(self) -> None:
        document = reference()
        self.second_agreement(document, [{"JPN": ["特定秘密", "極秘"], "ROK": "군사II급비밀"}], first=False)
        assert ask(build(document), LAUNCH, "ROK", "JPN", IN_2019).legs == (Leg("ROK", "JPN", JK, "極秘"),)

    def test_an_agreement_earlier_in_the_file_is_used_before_the_reference_one(self) -> None:
        document = reference()
        self.second_agreement(document, [{"JPN": ["特定秘密", "極秘"], "ROK": "군사II급비밀"}], first=True)
        decision = ask(build(document), LAUNCH, "ROK", "JPN", IN_2019)
        assert decision.legs == (Leg("ROK", "JPN", self.SECOND, "特定秘密"),)
        assert decision.marking == Marking("ROK", "特定秘密")

    def test_a_later_agreement_carries_what_the_first_cannot_map(self) -> None:
        document = reference()
        self.second_agreement(document, [{"JPN": "機密", "ROK": "군사I급비밀"}], first=False)
        decision = ask(build(document), LEVEL_ONE, "ROK", "JPN", IN_2019)
        assert decision.legs == (Leg("ROK", "JPN", self.SECOND, "機密"),)

    def test_a_later_agreement_carries_the_transfer_once_the_first_has_ended(self) -> None:
        document = no_suspension()
        self.second_agreement(document, [{"JPN": ["特定秘密", "極秘"], "ROK": "군사II급비밀"}], first=False)
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        assert decision.route == ("ROK", "JPN")
        assert decision.legs == (Leg("ROK", "JPN", self.SECOND, "特定秘密"),)

    def test_the_first_arrangement_in_file_order_that_allows_the_relay_is_used(self) -> None:
        document = self.two_hubs(australia_first=False)
        assert ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK).route == ("ROK", "USA", "JPN")

    def test_an_arrangement_earlier_in_the_file_is_used_first(self) -> None:
        document = self.two_hubs(australia_first=True)
        decision = ask(build(document), LAUNCH, "ROK", "JPN", AFTER_JK)
        assert decision.route == ("ROK", "AUS", "JPN")
        assert decision.marking == Marking("ROK", "極秘")

    def test_a_later_arrangement_relays_what_the_first_does_not_cover(self) -> None:
        document = self.two_hubs(australia_first=False)
        decision = ask(build(document), NAVY, "ROK", "JPN", AFTER_JK)
        assert decision.route == ("ROK", "AUS", "JPN")

    def two_hubs(self, *, australia_first: bool) -> dict[str, Any]:
        """A second hub, Australia, with a standing arrangement covering every category."""
        document = no_suspension()
        document["parties"]["AUS"] = {"levels": ["PROTECTED", "SECRET", "TOP SECRET"]}
        for party, secret in (("ROK", "군사II급비밀"), ("JPN", ["極秘", "特定秘密"])):
            add_agreement(document, f"AUS-{party}", ["AUS", party], [{"AUS": "SECRET", party: secret}])
        arrangement = {"hub": "AUS", "members": ["ROK", "JPN"], "scope": ["dprk-missile", "pla-navy"]}
        arrangement["consent"] = "standing"
        arrangements = document["arrangements"]
        document["arrangements"] = (
            {"OZ-RELAY": arrangement, **arrangements} if australia_first else {**arrangements, "OZ-RELAY": arrangement}
        )
        document["events"].append(event("2000-01-01T00:00:00+00:00", "enter_into_force", "OZ-RELAY"))
        return document


class TestRefusals:
    """Deny by default, and say every rule that failed."""

    def test_a_refusal_lists_every_rule_that_failed(self) -> None:
        document = reference()
        add_report(document, "future", "ROK", "군사I급비밀", rel_to=["USA"], created="2030-01-01T00:00:00+09:00")
        decision = ask(build(document), "future", "ROK", "JPN", IN_2019)
        refused(decision, Code.REPORT_NOT_CREATED, Code.NOT_IN_REL_TO, Code.NO_EQUIVALENT_LEVEL)

    def test_a_refused_relay_lists_the_direct_and_every_relay_failure(self, counterfactual: World) -> None:
        decision = ask(counterfactual, NAVY, "ROK", "JPN", AFTER_JK)
        assert codes(decision) == {
            Code.AGREEMENT_NOT_IN_FORCE,
            Code.OUT_OF_ARRANGEMENT_SCOPE,
            Code.NO_RELAY_CONSENT,
        }

    def test_a_party_with_no_agreement_and_no_arrangement_gets_nothing(self) -> None:
        document = reference()
        document["parties"]["AUS"] = {"levels": ["PROTECTED", "SECRET"]}
        decision = ask(build(document), LAUNCH, "ROK", "AUS", IN_2019)
        refused(decision, Code.NO_AGREEMENT, Code.NO_ARRANGEMENT)
        assert "AUS" in reason(decision, Code.NO_AGREEMENT)

    def test_a_transfer_to_oneself_is_refused(self, gsomia: World) -> None:
        refused(ask(gsomia, LAUNCH, "ROK", "ROK", IN_2019), Code.SAME_PARTY)

    @pytest.mark.parametrize(
        ("world", "report", "holder", "to", "at"),
        [
            ("gsomia-2019", LEVEL_ONE, "ROK", "JPN", IN_2019),
            ("gsomia-2019", KIMITSU, "JPN", "ROK", IN_2019),
            ("gsomia-2019", LAUNCH, "JPN", "USA", IN_2019),
            ("gsomia-2019-no-suspension", POINT, "ROK", "JPN", AFTER_JK),
            ("gsomia-2019-no-suspension", NAVY, "ROK", "JPN", AFTER_JK),
            ("gsomia-2019", LAUNCH, "ROK", "JPN", "2019-07-01T00:00:00+09:00"),
        ],
    )
    def test_every_reason_has_a_stable_code_and_a_message(
        self, world: str, report: str, holder: str, to: str, at: str
    ) -> None:
        decision = ask(load_world(world), report, holder, to, at)
        assert not decision.allowed
        assert decision.reasons
        for item in decision.reasons:
            assert isinstance(item.code, Code)
            assert item.message.strip()
            assert item.as_dict() == {"code": item.code.value, "message": item.message}
        assert len(set(decision.reasons)) == len(decision.reasons)


def _same(found: object, expected: object) -> bool:
    """Instants are compared as instants, everything else as is."""
    if isinstance(found, datetime):
        return isinstance(expected, str) and found == instant(expected)
    return found == expected


def _world_of(check: dict[str, Any]) -> World:
    return load_world((DOMAIN / "checks" / check["world"]).resolve())


class TestPublicChecks:
    """Every check of checks/gsomia-2019.json holds through the Python API."""

    @pytest.mark.parametrize("check", checks()["status"], ids=lambda c: f"{c['agreement']}@{c['at']}")
    def test_status_check_holds(self, check: dict[str, Any]) -> None:
        world = _world_of(check)
        pact = world.pact(check["agreement"])
        assert pact is not None
        status = pact.history.status(instant(check["at"]))
        for key, expected in check["expect"].items():
            found = getattr(status, key)
            found = getattr(found, "value", found)
            assert _same(found, expected), (key, found, expected)

    @pytest.mark.parametrize("check", checks()["decide"], ids=lambda c: f"{c['report']}:{c['holder']}->{c['to']}")
    def test_decide_check_holds(self, check: dict[str, Any]) -> None:
        world = _world_of(check)
        decision = ask(world, check["report"], check["holder"], check["to"], check["at"])
        expect = check["expect"]
        assert decision.allowed is expect["allowed"]
        if "route" in expect:
            assert list(decision.route) == expect["route"]
        if "level" in expect:
            assert decision.marking is not None
            assert decision.marking.level == expect["level"]
        if "legs" in expect:
            assert [leg.as_dict() for leg in decision.legs] == expect["legs"]
        if not expect["allowed"]:
            assert decision.reasons
            assert all(item.code and item.message for item in decision.reasons)


class TestInstantsMustBeExplicit:
    """The core refuses an instant without a UTC offset instead of guessing its zone."""

    def test_a_naive_instant_is_a_policy_error_naming_it(self) -> None:
        world = load_world("gsomia-2019")
        naive = datetime(2019, 11, 23)  # noqa: DTZ001 - the point of the test
        with pytest.raises(PolicyError, match="no UTC offset"):
            decide(world, world.reports["rok-launch-2019-07-25"], "ROK", "JPN", naive)
        with pytest.raises(PolicyError, match="no UTC offset"):
            world.agreements[JK].history.status(naive)
