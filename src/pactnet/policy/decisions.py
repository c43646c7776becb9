"""Transfer decisions: may a holder pass a report to a recipient now, by which route, marked how.

A refusal is a value, not an exception: `Decision(allowed=False, reasons=...)` lists every rule that failed,
each with a stable code (docs/reasons.md) and a message a liaison officer understands. The values built on
every decision are named tuples: immutable like frozen dataclasses, at a third of the cost to build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from pactnet.errors import PolicyError
from pactnet.policy.model import OnwardRelease, RelayConsent

if TYPE_CHECKING:
    from pactnet.policy.model import Agreement, Arrangement, Report, Scope, World


class Code(StrEnum):
    """The stable codes of refusal reasons; documented in docs/reasons.md."""

    REPORT_NOT_CREATED = "report-not-created"
    SAME_PARTY = "same-party"
    NOT_IN_REL_TO = "not-in-rel-to"
    NO_HOLDER_AGREEMENT = "no-holder-agreement"
    HOLDER_LEVEL_UNMAPPED = "holder-level-unmapped"
    ONWARD_RELEASE_FORBIDDEN = "onward-release-forbidden"
    NO_ORIGINATOR_CONSENT = "no-originator-consent"
    NO_AGREEMENT = "no-agreement"
    AGREEMENT_NOT_IN_FORCE = "agreement-not-in-force"
    OUT_OF_SCOPE = "out-of-scope"
    NO_EQUIVALENT_LEVEL = "no-equivalent-level"
    NO_ARRANGEMENT = "no-arrangement"
    ARRANGEMENT_NOT_IN_FORCE = "arrangement-not-in-force"
    OUT_OF_ARRANGEMENT_SCOPE = "out-of-arrangement-scope"
    NO_LEG_AGREEMENT = "no-leg-agreement"
    NO_RELAY_CONSENT = "no-relay-consent"


class Reason(NamedTuple):
    """One rule that failed."""

    code: Code
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"code": self.code.value, "message": self.message}


class Leg(NamedTuple):
    """One hop of a route: the agreement it travels under and the level it is marked with on arrival."""

    sender: str
    receiver: str
    under: str
    level: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready, with the keys `from`, `to`, `under`, `level`."""
        return {"from": self.sender, "to": self.receiver, "under": self.under, "level": self.level}


class Marking(NamedTuple):
    """GSOMIA art. 4(2): the receiver marks an item with the originator's name and its own equivalent level."""

    originator: str
    level: str


class Decision(NamedTuple):
    """The answer to one transfer question; `notes` say why a preferred route was not taken."""

    allowed: bool
    route: tuple[str, ...] = ()
    legs: tuple[Leg, ...] = ()
    marking: Marking | None = None
    reasons: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()

    @property
    def hub(self) -> str | None:
        """The party in the middle of a relayed route."""
        return self.route[1] if len(self.route) == 3 else None  # noqa: PLR2004 - holder, hub, recipient

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the shape `pactnet decide --json` prints."""
        marking = self.marking
        return {
            "allowed": self.allowed,
            "route": list(self.route),
            "legs": [leg.as_dict() for leg in self.legs],
            "marking": None if marking is None else {"originator": marking.originator, "level": marking.level},
            "reasons": [reason.as_dict() for reason in self.reasons],
            "notes": [note.as_dict() for note in self.notes],
        }


def _show(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).isoformat()


def _not_in_force(pact: Agreement | Arrangement, at: datetime, code: Code, asked: tzinfo) -> Reason:
    """Arrangements have no clock of their own: their instants are shown in the asker's offset."""
    history = pact.history
    zone = pact.zone if pact.kind == "agreement" else asked
    if history.ended_at is not None and at >= history.ended_at:
        return Reason(code, f"{pact.id} ended at {_show(history.ended_at, zone)}")
    # Only what is known at `at` goes into the message: not a later entry into force.
    return Reason(code, f"{pact.id} is not in force at {_show(at, zone)}: it has not entered into force")


def _out_of_scope(pact_id: str, scope: Scope, report: Report, code: Code) -> Reason:
    if not report.categories:
        what = 'a report with no categories, which only "*" covers'
    else:
        what = ", ".join(scope.missing(report.category_set))
    return Reason(code, f"{pact_id} covers {scope}; not {what}")


def _carries(
    agreement: Agreement, sender: str, receiver: str, level: str, categories: frozenset[str], at: datetime
) -> str | None:
    """The receiver's label if `agreement` carries this hop at `at` (in force, in scope, level mapped), else None.

    The same rules as _leg_label, which also says why not; written out flat, as it runs on every decision.
    """
    history = agreement.history
    start, end = history.in_force_from, history.ended_at
    if start is None or at < start or (end is not None and at >= end):
        return None
    texts = agreement.texts
    text = texts[0][1] if len(texts) == 1 else agreement.text_at(at)
    if not text.scope.covers(categories):
        return None
    table = text.translation.get((sender, receiver))
    return None if table is None else table.get(level)


def _leg_label(
    agreement: Agreement,
    sender: str,
    receiver: str,
    level: str | None,
    shown: str,
    report: Report,
    at: datetime,
    fails: list[Reason],
) -> str | None:
    """The receiver's label for a hop under `agreement`, or None with every failed rule appended."""
    ok = agreement.history.is_in_force(at)
    if not ok:
        fails.append(_not_in_force(agreement, at, Code.AGREEMENT_NOT_IN_FORCE, agreement.zone))
    text = agreement.text_at(at)
    if not text.scope.covers(report.category_set):
        ok = False
        fails.append(_out_of_scope(agreement.id, text.scope, report, Code.OUT_OF_SCOPE))
    if level is None:
        return None
    label = text.translate(sender, receiver, level)
    if label is None:
        fails.append(Reason(Code.NO_EQUIVALENT_LEVEL, f"no {receiver} equivalent of {shown} under {agreement.id}"))
        return None
    return label if ok else None


def _direct(
    world: World,
    report: Report,
    holder: str,
    recipient: str,
    level: str | None,
    shown: str,
    at: datetime,
    fails: list[Reason],
) -> Decision | None:
    """The first agreement between holder and recipient that allows the transfer, in file order."""
    agreements = world.between.get((holder, recipient), ())
    if not agreements:
        fails.append(Reason(Code.NO_AGREEMENT, f"no agreement between {holder} and {recipient}"))
        return None
    for agreement in agreements:
        label = _leg_label(agreement, holder, recipient, level, shown, report, at, fails)
        if label is not None:
            leg = Leg(holder, recipient, agreement.id, label)
            return Decision(True, (holder, recipient), (leg,), Marking(report.originator, label))  # noqa: FBT003 - hot path
    return None


@dataclass(slots=True)
class _Question:
    world: World
    report: Report
    holder: str
    recipient: str
    at: datetime
    assume_consent: bool
    asked: tzinfo
    fails: list[Reason] = field(default_factory=list)

    def held_level(self) -> tuple[str | None, str]:
        """The holder's level of the item and the label it is known by at the holder."""
        report = self.report
        if self.holder == report.originator:
            return report.level, report.label
        world, holder, at = self.world, self.holder, self.at
        agreements = world.between.get((report.originator, holder), ())
        if not agreements:
            message = f"{holder} can hold {report.originator}'s {report.id} only under an agreement with "
            self.fails.append(Reason(Code.NO_HOLDER_AGREEMENT, message + f"{report.originator}; there is none"))
            return None, report.label
        for agreement in agreements:
            label = agreement.text_at(at).translate(report.originator, holder, report.level)
            if label is not None:
                self.check_onward_release(agreement)
                return world.parties[holder].canonical[label], label
        names = ", ".join(agreement.id for agreement in agreements)
        message = f"no {holder} equivalent of {report.label} under {names}, so {holder} cannot hold {report.id}"
        self.fails.append(Reason(Code.HOLDER_LEVEL_UNMAPPED, message))
        return None, report.label

    def check_onward_release(self, agreement: Agreement) -> None:
        """GSOMIA art. 6 / R7, R28: onward release needs the originator's prior consent, even after the end."""
        report, recipient = self.report, self.recipient
        if recipient == report.originator:
            return  # handing an item back to its originator is not an onward release
        if agreement.onward_release is OnwardRelease.FORBIDDEN:
            message = f"{agreement.id} forbids onward release of {report.originator}'s items by {self.holder}"
            self.fails.append(Reason(Code.ONWARD_RELEASE_FORBIDDEN, message))
        elif not self.assume_consent and not self.world.consents_to(report.id, recipient, self.at):
            message = f"{report.originator} has not consented to release of {report.id} to {recipient}"
            when = self.at.astimezone(self.asked).isoformat()
            self.fails.append(Reason(Code.NO_ORIGINATOR_CONSENT, f"{message} at {when}"))

    def direct(self, level: str | None, shown: str, fails: list[Reason]) -> Decision | None:
        return _direct(self.world, self.report, self.holder, self.recipient, level, shown, self.at, fails)

    def relay(self, level: str | None, shown: str, fails: list[Reason]) -> Decision | None:
        holder, recipient = self.holder, self.recipient
        arrangements = self.world.relays.get((holder, recipient), ())
        if not arrangements:
            message = f"no arrangement relays between {holder} and {recipient}"
            fails.append(Reason(Code.NO_ARRANGEMENT, message))
            return None
        for arrangement in arrangements:
            decision = self.relay_under(arrangement, level, shown, fails)
            if decision is not None:
                return decision
        return None

    def relay_under(
        self, arrangement: Arrangement, level: str | None, shown: str, fails: list[Reason]
    ) -> Decision | None:
        world, report, at, hub = self.world, self.report, self.at, arrangement.hub
        own: list[Reason] = []
        if not arrangement.history.is_in_force(at):
            own.append(_not_in_force(arrangement, at, Code.ARRANGEMENT_NOT_IN_FORCE, self.asked))
        scope = arrangement.scope_at(at)
        if not scope.covers(report.category_set):
            own.append(_out_of_scope(arrangement.id, scope, report, Code.OUT_OF_ARRANGEMENT_SCOPE))
        if report.rel_to is not None and hub not in report.rel_to:
            message = f"{report.id} is releasable only to {', '.join(sorted(report.rel_to))}; not {hub}"
            own.append(Reason(Code.NOT_IN_REL_TO, message + f", the hub of {arrangement.id}"))
        needs_consent = arrangement.consent is RelayConsent.PER_ITEM and not self.assume_consent
        if needs_consent and not world.consents_to_relay(report.id, arrangement.id, at):
            message = f"{report.originator} has not consented to relay of {report.id} under {arrangement.id}"
            own.append(Reason(Code.NO_RELAY_CONSENT, message))
        legs = self.legs_through(hub, level, shown, own)
        if legs is not None and not own:
            route = (self.holder, hub, self.recipient)
            return Decision(allowed=True, route=route, legs=legs, marking=Marking(report.originator, legs[1].level))
        fails.extend(own)
        return None

    def legs_through(self, hub: str, level: str | None, shown: str, fails: list[Reason]) -> tuple[Leg, Leg] | None:
        """Both hops through the hub, each under the first agreement that allows it (G3)."""
        world, report, at, holder, recipient = self.world, self.report, self.at, self.holder, self.recipient
        firsts = world.between.get((holder, hub), ())
        seconds = world.between.get((hub, recipient), ())
        for a, b, leg_agreements in ((holder, hub, firsts), (hub, recipient, seconds)):
            if not leg_agreements:
                fails.append(Reason(Code.NO_LEG_AGREEMENT, f"no agreement between {a} and {b} to carry a leg"))
        tried: list[Reason] = []
        carried = False
        for first in firsts:
            hub_label = _leg_label(first, holder, hub, level, shown, report, at, tried)
            if hub_label is None:
                continue
            carried = True
            hub_level = world.parties[hub].canonical[hub_label]
            for second in seconds:
                label = _leg_label(second, hub, recipient, hub_level, hub_label, report, at, tried)
                if label is not None:
                    return Leg(holder, hub, first.id, hub_label), Leg(hub, recipient, second.id, label)
        if not carried:
            for second in seconds:  # explain the second leg too, as far as it can be without a level
                _leg_label(second, hub, recipient, None, shown, report, at, tried)
        fails.extend(tried)
        return None


def _unique(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))


def decide(  # noqa: C901 - the preconditions of world-format.md, then the routes, in order
    world: World,
    report: Report,
    holder: str,
    recipient: str,
    at: datetime,
    *,
    assume_consent: bool = False,
    ignore_created: bool = False,
) -> Decision:
    """Whether `holder` may pass `report` to `recipient` at `at`, by which route, marked how; or why not.

    Direct transfer under a bilateral agreement is preferred; a hub is used only when no direct agreement
    allows it (agreements.md §4, routing order). Deny by default: every path that is not proven allowed is
    refused. `assume_consent` and `ignore_created` serve impact analysis, which asks about routes, not items.
    """
    asked = at.tzinfo
    if asked is None:
        raise PolicyError(f"decide: the instant {at.isoformat()} has no UTC offset; time zones are explicit")
    if asked is not UTC:
        at = at.astimezone(UTC)
    originator = report.originator
    if (
        holder == originator
        and recipient != holder
        and (report.rel_to is None or recipient in report.rel_to)
        and (ignore_created or report.created is None or report.created <= at)
    ):
        # The common case, first and cheaply: the originator's own item, sent directly. Only an allowed
        # transfer returns here; anything else is decided (and explained) below, rule by rule.
        for agreement in world.between.get((holder, recipient), ()):
            label = _carries(agreement, holder, recipient, report.level, report.category_set, at)
            if label is not None:
                leg = Leg(holder, recipient, agreement.id, label)
                return Decision(True, (holder, recipient), (leg,), Marking(originator, label))  # noqa: FBT003
    question = _Question(world, report, holder, recipient, at, assume_consent, asked)
    fails = question.fails
    if holder == recipient:
        fails.append(Reason(Code.SAME_PARTY, f"{holder} already holds {report.id}: nothing to transfer"))
    if not ignore_created and report.created is not None and at < report.created:
        when = report.created.astimezone(asked).isoformat()
        fails.append(Reason(Code.REPORT_NOT_CREATED, f"{report.id} does not exist before {when}"))
    if report.rel_to is not None and recipient not in report.rel_to:
        message = f"{report.id} is releasable only to {', '.join(sorted(report.rel_to))}; not {recipient}"
        fails.append(Reason(Code.NOT_IN_REL_TO, message))
    level, shown = question.held_level()
    route_fails: list[Reason] = []
    route = None
    if holder != recipient and level is not None:
        route = question.direct(level, shown, route_fails) or question.relay(level, shown, route_fails)
    if route is None:
        return Decision(allowed=False, reasons=_unique(fails + route_fails))
    if fails:
        return Decision(allowed=False, reasons=_unique(fails))
    notes = _unique(route_fails)  # why the direct route was not taken, for a relayed decision
    return Decision(allowed=True, route=route.route, legs=route.legs, marking=route.marking, notes=notes)
