"""A refusal lists every rule that failed, exactly as world-format.md's fine print says; several agreements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given

from pactnet.policy import Code, Decision, Leg, Marking, decide
from pactnet.policy.decisions import DirectAnswers, decide_by_the_rules
from tests.unit.builders import build, event, instant
from tests.unit.test_properties import CASES, SETTINGS, Case

if TYPE_CHECKING:
    from collections.abc import Callable

    from pactnet.policy import World

ORG, HLD, RCP, HUB = "ORG", "HLD", "RCP", "HUB"
EARLY = "2000-01-01T00:00:00+00:00"
ASKED = "2020-06-01T00:00:00+00:00"
LATER = "2030-01-01T00:00:00+00:00"
LEVELS = {ORG: ["O1", "O2"], HLD: ["H1", "H2"], RCP: ["R1", "R2"], HUB: ["U1", "U2"]}


def rows(a: str, b: str, *pairs: tuple[int, int]) -> list[dict[str, str]]:
    """Equivalence rows pairing a's level i with b's level j (1-based)."""
    return [{a: LEVELS[a][i - 1], b: LEVELS[b][j - 1]} for i, j in pairs]


class Plan:
    """A small world under construction: four parties, agreements in force from 2000 unless said otherwise."""

    def __init__(self) -> None:
        parties = {code: {"levels": levels} for code, levels in LEVELS.items()}
        self.document: dict[str, Any] = {"format": "pactnet.world/1", "parties": parties}
        self.document |= {"agreements": {}, "arrangements": {}, "events": [], "reports": []}

    def agreement(
        self, pact_id: str, a: str, b: str, equivalence: list[dict[str, str]], enters: str | None = EARLY, **extra: Any
    ) -> Plan:
        self.document["agreements"][pact_id] = {"parties": [a, b], "equivalence": equivalence} | extra
        self.document["agreements"][pact_id].setdefault("notice_period", "P90D")
        if enters is not None:
            self.document["events"].append(event(enters, "enter_into_force", pact_id))
        return self

    def arrangement(self, pact_id: str, enters: str | None = EARLY, **extra: Any) -> Plan:
        table = {"hub": HUB, "members": [HLD, ORG, RCP], "scope": ["*"], "consent": "standing"} | extra
        self.document["arrangements"][pact_id] = table
        if enters is not None:
            self.document["events"].append(event(enters, "enter_into_force", pact_id))
        return self

    def report(self, level: str = "O2", **extra: Any) -> Plan:
        self.document["reports"].append({"id": "r", "originator": ORG, "level": level, "categories": ["x"]} | extra)
        return self

    def consent(self, to: str) -> Plan:
        self.document["events"].append(event(EARLY, "grant_consent", by=ORG, report="r", to=to))
        return self

    def terminate(self, pact_id: str, at: str = "2010-01-01T00:00:00+00:00") -> Plan:
        self.document["events"].append(event(at, "terminate", pact_id))
        return self

    def world(self) -> World:
        return build(self.document)


def ask(world: World, holder: str, recipient: str, at: str = ASKED) -> Decision:
    """decide(), checked equal to the plain rules on every question these tests ask."""
    decision = decide(world, world.reports["r"], holder, recipient, instant(at))
    assert decision == decide_by_the_rules(world, world.reports["r"], holder, recipient, instant(at))
    return decision


def codes(decision: Decision) -> list[Code]:
    return [reason.code for reason in decision.reasons]


def messages(decision: Decision, code: Code) -> list[str]:
    return [reason.message for reason in decision.reasons if reason.code is code]


class TestEveryFailedRule:
    """Every check on the report and the holder, and every route's failures when no route carries it."""

    def test_a_holder_whose_level_cannot_be_mapped_also_gets_the_missing_consent_and_every_failing_route(
        self,
    ) -> None:
        plan = Plan().report().agreement("OH", ORG, HLD, rows(ORG, HLD, (1, 1)))
        plan.agreement("HR", HLD, RCP, rows(HLD, RCP, (1, 1), (2, 2)), enters=None)
        decision = ask(plan.world(), HLD, RCP)
        assert not decision.allowed
        assert set(codes(decision)) == {
            Code.HOLDER_LEVEL_UNMAPPED,
            Code.NO_ORIGINATOR_CONSENT,
            Code.AGREEMENT_NOT_IN_FORCE,
            Code.NO_ARRANGEMENT,
        }

    def test_a_holder_whose_level_is_unknown_gets_each_routes_state_and_scope_but_no_level_mapping(self) -> None:
        plan = Plan().report().consent(RCP).agreement("HR", HLD, RCP, rows(HLD, RCP, (1, 1)), scope=["y"])
        plan.arrangement("AR", enters=None)
        decision = ask(plan.world(), HLD, RCP)
        assert set(codes(decision)) == {
            Code.NO_HOLDER_AGREEMENT,
            Code.OUT_OF_SCOPE,
            Code.ARRANGEMENT_NOT_IN_FORCE,
            Code.NO_LEG_AGREEMENT,
        }
        assert Code.NO_EQUIVALENT_LEVEL not in codes(decision)

    def test_forbidden_onward_release_and_the_missing_consent_are_each_listed(self) -> None:
        plan = Plan().report().agreement("OH", ORG, HLD, rows(ORG, HLD, (2, 2)), onward_release="forbidden")
        plan.agreement("HR", HLD, RCP, rows(HLD, RCP, (2, 2)))
        decision = ask(plan.world(), HLD, RCP)
        assert codes(decision) == [Code.ONWARD_RELEASE_FORBIDDEN, Code.NO_ORIGINATOR_CONSENT]

    def test_when_a_route_carries_the_transfer_only_the_checks_on_the_report_and_the_holder_are_listed(
        self,
    ) -> None:
        plan = Plan().report(rel_to=[HUB], created=LATER).agreement("OH", ORG, HLD, rows(ORG, HLD, (2, 2)))
        plan.agreement("HR", HLD, RCP, rows(HLD, RCP, (2, 2)), enters=None)
        plan.agreement("HR2", HLD, RCP, rows(HLD, RCP, (2, 2)))
        decision = ask(plan.world(), HLD, RCP)
        assert codes(decision) == [Code.REPORT_NOT_CREATED, Code.NOT_IN_REL_TO, Code.NO_ORIGINATOR_CONSENT]

    def test_a_failing_check_does_not_hide_the_ones_after_it(self) -> None:
        plan = Plan().report().agreement("OR", ORG, RCP, rows(ORG, RCP, (1, 1)), enters=None, scope=["y"])
        decision = ask(plan.world(), ORG, RCP)
        assert codes(decision) == [
            Code.AGREEMENT_NOT_IN_FORCE,
            Code.OUT_OF_SCOPE,
            Code.NO_EQUIVALENT_LEVEL,
            Code.NO_ARRANGEMENT,
        ]

    def test_a_failing_first_leg_does_not_hide_the_second(self) -> None:
        plan = Plan().report().arrangement("AR", members=[ORG, RCP])
        plan.agreement("OU", ORG, HUB, rows(ORG, HUB, (2, 2)), enters=None)
        plan.agreement("UR", HUB, RCP, rows(HUB, RCP, (1, 1)))
        decision = ask(plan.world(), ORG, RCP)
        assert Code.AGREEMENT_NOT_IN_FORCE in codes(decision)
        assert messages(decision, Code.NO_EQUIVALENT_LEVEL) == ["no RCP equivalent of U2 under UR"]

    def test_the_second_leg_is_mapped_with_the_first_leg_one_agreement_in_file_order_that_maps_the_level(
        self,
    ) -> None:
        plan = Plan().report().arrangement("AR", members=[ORG, RCP])
        plan.agreement("OU-A", ORG, HUB, rows(ORG, HUB, (1, 1)), enters=None)
        plan.agreement("OU-B", ORG, HUB, rows(ORG, HUB, (2, 1)), enters=None)
        plan.agreement("OU-C", ORG, HUB, rows(ORG, HUB, (2, 2)), enters=None)
        plan.agreement("UR", HUB, RCP, rows(HUB, RCP, (2, 2)))
        decision = ask(plan.world(), ORG, RCP)
        assert messages(decision, Code.NO_EQUIVALENT_LEVEL) == [
            "no HUB equivalent of O2 under OU-A",
            "no RCP equivalent of U1 under UR",
        ]

    def test_with_no_first_leg_agreement_mapping_the_level_the_second_leg_is_checked_for_state_and_scope_only(
        self,
    ) -> None:
        plan = Plan().report().arrangement("AR", members=[ORG, RCP])
        plan.agreement("OU", ORG, HUB, rows(ORG, HUB, (1, 1)))
        plan.agreement("UR", HUB, RCP, rows(HUB, RCP, (1, 1)), scope=["y"])
        decision = ask(plan.world(), ORG, RCP)
        assert messages(decision, Code.NO_EQUIVALENT_LEVEL) == ["no HUB equivalent of O2 under OU"]
        assert messages(decision, Code.OUT_OF_SCOPE) == ["UR covers y; not x"]

    def test_once_an_agreement_carries_a_leg_the_failures_of_the_others_are_not_listed(self) -> None:
        plan = Plan().report().arrangement("AR", enters=None, members=[ORG, RCP])
        plan.agreement("OU-A", ORG, HUB, rows(ORG, HUB, (2, 2)), enters=None)
        plan.agreement("OU-B", ORG, HUB, rows(ORG, HUB, (2, 2)))
        plan.agreement("UR", HUB, RCP, rows(HUB, RCP, (2, 2)))
        decision = ask(plan.world(), ORG, RCP)
        assert codes(decision) == [Code.NO_AGREEMENT, Code.ARRANGEMENT_NOT_IN_FORCE]

    def test_rel_to_lacking_the_hub_is_one_of_that_routes_rules(self) -> None:
        plan = Plan().report(rel_to=[RCP]).arrangement("AR", members=[ORG, RCP])
        plan.agreement("OU", ORG, HUB, rows(ORG, HUB, (2, 2))).agreement("UR", HUB, RCP, rows(HUB, RCP, (2, 2)))
        decision = ask(plan.world(), ORG, RCP)
        assert codes(decision) == [Code.NO_AGREEMENT, Code.NOT_IN_REL_TO]
        assert messages(decision, Code.NOT_IN_REL_TO) == ["r is releasable only to RCP; not HUB, the hub of AR"]


class TestSeveralHolderAgreements:
    """The holder's level and onward release when the originator and the holder share several agreements."""

    def holder_world(self, *agreements: tuple[str, list[dict[str, str]], str | None, dict[str, Any]]) -> World:
        plan = Plan().report().consent(RCP)
        for pact_id, equivalence, enters, extra in agreements:
            plan.agreement(pact_id, ORG, HLD, equivalence, enters=enters, **extra)
        plan.agreement("HR", HLD, RCP, rows(HLD, RCP, (1, 1), (2, 2)))
        if any(extra.get("ended") for *_, extra in agreements):
            plan.terminate("OH-A")
        for table in plan.document["agreements"].values():
            table.pop("ended", None)
        return plan.world()

    def test_an_agreement_that_never_entered_into_force_gives_no_level(self) -> None:
        world = self.holder_world(
            ("OH-A", rows(ORG, HLD, (2, 2)), None, {}), ("OH-B", rows(ORG, HLD, (2, 1)), EARLY, {})
        )
        assert ask(world, HLD, RCP).marking == ("ORG", "R1")

    def test_one_in_force_comes_before_an_earlier_one_in_file_order_that_has_ended(self) -> None:
        ended = ("OH-A", rows(ORG, HLD, (2, 2)), EARLY, {"ended": True})
        world = self.holder_world(ended, ("OH-B", rows(ORG, HLD, (2, 1)), EARLY, {}))
        assert ask(world, HLD, RCP).marking == ("ORG", "R1")

    def test_one_that_has_ended_still_gives_the_level_when_none_in_force_maps_it(self) -> None:
        ended = ("OH-A", rows(ORG, HLD, (2, 2)), EARLY, {"ended": True})
        world = self.holder_world(ended, ("OH-B", rows(ORG, HLD, (1, 1)), EARLY, {}))
        assert ask(world, HLD, RCP).marking == ("ORG", "R2")

    def test_one_not_yet_in_force_at_the_instant_gives_no_level(self) -> None:
        world = self.holder_world(("OH-A", rows(ORG, HLD, (2, 2)), LATER, {}))
        decision = ask(world, HLD, RCP)
        assert codes(decision) == [Code.NO_HOLDER_AGREEMENT, Code.NO_ARRANGEMENT]
        assert "OH-A had not at 2020-06-01T00:00:00+00:00" in decision.reasons[0].message

    def test_a_forbidding_agreement_in_force_forbids_even_when_another_gives_the_level(self) -> None:
        forbidding = ("OH-B", rows(ORG, HLD, (1, 1)), EARLY, {"onward_release": "forbidden"})
        world = self.holder_world(("OH-A", rows(ORG, HLD, (2, 2)), EARLY, {}), forbidding)
        assert codes(ask(world, HLD, RCP)) == [Code.ONWARD_RELEASE_FORBIDDEN]

    def test_a_forbidding_agreement_not_yet_in_force_at_the_instant_does_not_forbid(self) -> None:
        forbidding = ("OH-B", rows(ORG, HLD, (2, 2)), LATER, {"onward_release": "forbidden"})
        world = self.holder_world(("OH-A", rows(ORG, HLD, (2, 2)), EARLY, {}), forbidding)
        assert ask(world, HLD, RCP).allowed
        assert codes(ask(world, HLD, RCP, at="2031-01-01T00:00:00+00:00")) == [Code.ONWARD_RELEASE_FORBIDDEN]


class TestSameParty:
    """A transfer whose holder is its recipient is refused with its own reason, and nothing else is checked."""

    def test_a_transfer_to_the_holder_itself_is_refused_with_same_party_alone(self) -> None:
        world = Plan().report(rel_to=[RCP], created=LATER).world()
        decision = ask(world, HLD, HLD)
        assert codes(decision) == [Code.SAME_PARTY]
        assert decision.reasons[0].message == "HLD already holds r: nothing to transfer"


def _case(code: Code) -> tuple[World, str, str]:  # noqa: C901 - one minimal world per code
    """A minimal world and (holder, recipient) whose refusal carries `code`."""
    plan = Plan().report()
    if code is Code.REPORT_NOT_CREATED:
        plan = Plan().report(created=LATER).agreement("OR", ORG, RCP, rows(ORG, RCP, (2, 2)))
    elif code is Code.SAME_PARTY:
        return plan.world(), ORG, ORG
    elif code is Code.NOT_IN_REL_TO:
        plan = Plan().report(rel_to=[HUB]).agreement("OR", ORG, RCP, rows(ORG, RCP, (2, 2)))
    elif code is Code.NO_HOLDER_AGREEMENT:
        return plan.world(), HLD, RCP
    elif code in (Code.HOLDER_LEVEL_UNMAPPED, Code.NO_ORIGINATOR_CONSENT):
        plan.agreement("OH", ORG, HLD, rows(ORG, HLD, (1, 1)))
        return plan.world(), HLD, RCP
    elif code is Code.ONWARD_RELEASE_FORBIDDEN:
        plan.agreement("OH", ORG, HLD, rows(ORG, HLD, (2, 2)), onward_release="forbidden")
        return plan.world(), HLD, RCP
    elif code in (Code.NO_AGREEMENT, Code.NO_ARRANGEMENT):
        pass
    elif code is Code.AGREEMENT_NOT_IN_FORCE:
        plan.agreement("OR", ORG, RCP, rows(ORG, RCP, (2, 2)), enters=None)
    elif code is Code.OUT_OF_SCOPE:
        plan.agreement("OR", ORG, RCP, rows(ORG, RCP, (2, 2)), scope=["y"])
    elif code is Code.NO_EQUIVALENT_LEVEL:
        plan.agreement("OR", ORG, RCP, rows(ORG, RCP, (1, 1)))
    else:  # the codes of a relay
        enters = None if code is Code.ARRANGEMENT_NOT_IN_FORCE else EARLY
        extra: dict[str, Any] = {"members": [ORG, RCP]}
        extra |= {"scope": ["y"]} if code is Code.OUT_OF_ARRANGEMENT_SCOPE else {}
        extra |= {"consent": "per-item"} if code is Code.NO_RELAY_CONSENT else {}
        plan.arrangement("AR", enters=enters, **extra).agreement("OU", ORG, HUB, rows(ORG, HUB, (2, 2)))
        if code is not Code.NO_LEG_AGREEMENT:
            plan.agreement("UR", HUB, RCP, rows(HUB, RCP, (2, 2)))
    return plan.world(), ORG, RCP


class TestEveryCodeThroughBothPaths:
    """Every reason code is reachable through decide (with its fast path) and gives what the plain rules give."""

    @pytest.mark.parametrize("code", list(Code))
    def test_each_code_comes_out_of_decide_exactly_as_out_of_the_plain_rules(self, code: Code) -> None:
        world, holder, recipient = _case(code)
        decision = ask(world, holder, recipient)
        assert not decision.allowed
        assert code in codes(decision)

    @pytest.mark.parametrize("rule", [decide, decide_by_the_rules])
    def test_an_allowed_direct_transfer_is_the_same_through_both(self, rule: Callable[..., Decision]) -> None:
        world = Plan().report().agreement("OR", ORG, RCP, rows(ORG, RCP, (2, 2))).world()
        decision = rule(world, world.reports["r"], ORG, RCP, instant(ASKED))
        leg = Leg(ORG, RCP, "OR", "R2")
        assert decision == Decision(allowed=True, route=(ORG, RCP), legs=(leg,), marking=Marking(ORG, "R2"))


class TestTheFastPathEqualsTheRules:
    """decide's fast path for the common case answers exactly what the plain rules answer, on random worlds."""

    @SETTINGS
    @given(case=CASES)
    def test_decide_and_the_plain_rules_give_the_same_decision_on_every_question(self, case: Case) -> None:
        document, _, asked = case
        world = build(document)
        direct: DirectAnswers = {}  # the fast path's answers kept across the questions, as a publish keeps them
        for report_id, holder, recipient, at in asked:
            report = world.reports[report_id]
            for assume_consent in (False, True):
                options: dict[str, Any] = {"assume_consent": assume_consent, "ignore_created": assume_consent}
                fast = decide(world, report, holder, recipient, at, **options)
                assert fast == decide_by_the_rules(world, report, holder, recipient, at, **options)
                kept = decide(world, report, holder, recipient, at, direct=direct, **options)
                assert kept == fast
