"""The plain rules of a transfer decision (world-format.md, "Fine print"), each failure kept as a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pactnet.policy.answers import Code, Decision, Leg, Marking, Reason
from pactnet.policy.clock import show_instant
from pactnet.policy.model import OnwardRelease, RelayConsent

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from pactnet.policy.model import Agreement, Arrangement, Report, Scope, World


def _not_in_force(pact: Agreement | Arrangement, at: datetime, code: Code, asked: tzinfo) -> Reason:
    """Arrangements have no clock of their own: their instants are shown in the asker's offset."""
    history = pact.history
    zone = pact.zone if pact.kind == "agreement" else asked
    if history.ended_at is not None and at >= history.ended_at:
        return Reason(code, f"{pact.id} ended at {show_instant(history.ended_at, zone)}")
    # Only what is known at `at` goes into the message: not a later entry into force.
    return Reason(code, f"{pact.id} is not in force at {show_instant(at, zone)}: it has not entered into force")


def _out_of_scope(pact_id: str, scope: Scope, report: Report, code: Code) -> Reason:
    if not report.categories:
        what = 'a report with no categories, which only "*" covers'
    else:
        what = ", ".join(scope.missing(report.category_set))
    return Reason(code, f"{pact_id} covers {scope}; not {what}")


def carries(
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


def direct_route(
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
class Question:
    """One transfer question, asked by the plain rules of world-format.md (fine print) one after the other."""

    world: World
    report: Report
    holder: str
    recipient: str
    at: datetime
    assume_consent: bool
    asked: tzinfo
    fails: list[Reason] = field(default_factory=list)

    def when(self) -> str:
        """The instant asked about, in the asker's offset."""
        return show_instant(self.at, self.asked)

    def holder_agreements(self) -> tuple[Agreement, ...]:
        """The agreements between the originator and the holder, in file order."""
        return self.world.between.get((self.report.originator, self.holder), ())

    def entered(self) -> list[Agreement]:
        """The originator-holder agreements that entered into force at or before `at`, in file order."""
        at = self.at
        return [
            agreement
            for agreement in self.holder_agreements()
            if agreement.history.in_force_from is not None and agreement.history.in_force_from <= at
        ]

    def held_level(self) -> tuple[str | None, str]:
        """The holder's level of the item and the label it is known by at the holder (fine print).

        From the first originator-holder agreement in file order in force at `at` that maps the level, else
        from the first that entered into force at or before `at` and maps it (what was received stays
        protected); one that never entered into force gives no level.
        """
        report, holder, at = self.report, self.holder, self.at
        if holder == report.originator:
            return report.level, report.label
        agreements = self.holder_agreements()
        if not agreements:
            message = f"{holder} can hold {report.originator}'s {report.id} only under an agreement with "
            self.fails.append(Reason(Code.NO_HOLDER_AGREEMENT, message + f"{report.originator}; there is none"))
            return None, report.label
        entered = self.entered()
        in_force = [agreement for agreement in entered if agreement.history.is_in_force(at)]
        for agreement in (*in_force, *entered):
            label = agreement.text_at(at).translate(report.originator, holder, report.level)
            if label is not None:
                return self.world.parties[holder].canonical[label], label
        if not entered:
            names = ", ".join(agreement.id for agreement in agreements)
            message = f"{holder} can hold {report.originator}'s {report.id} only under an agreement with "
            message += f"{report.originator} that has entered into force; {names} had not at {self.when()}"
            self.fails.append(Reason(Code.NO_HOLDER_AGREEMENT, message))
            return None, report.label
        names = ", ".join(agreement.id for agreement in entered)
        message = f"no {holder} equivalent of {report.label} under {names}, so {holder} cannot hold {report.id}"
        self.fails.append(Reason(Code.HOLDER_LEVEL_UNMAPPED, message))
        return None, report.label

    def check_onward_release(self) -> None:
        """GSOMIA art. 6 / R7, R28: onward release needs the originator's prior consent, even after the end.

        Forbidden when any originator-holder agreement that entered into force at or before `at` says so; the
        missing consent is listed on its own beside it (fine print).
        """
        report, recipient, holder = self.report, self.recipient, self.holder
        if report.originator in (holder, recipient):
            return  # handing an item back to its originator is not an onward release
        for agreement in self.entered():
            if agreement.onward_release is OnwardRelease.FORBIDDEN:
                message = f"{agreement.id} forbids onward release of {report.originator}'s items by {holder}"
                self.fails.append(Reason(Code.ONWARD_RELEASE_FORBIDDEN, message))
                break
        if not self.assume_consent and not self.world.consents_to(report.id, recipient, self.at):
            message = f"{report.originator} has not consented to release of {report.id} to {recipient}"
            self.fails.append(Reason(Code.NO_ORIGINATOR_CONSENT, f"{message} at {self.when()}"))

    def direct(self, level: str | None, shown: str, fails: list[Reason]) -> Decision | None:
        """The direct route, or None with its failures appended."""
        return direct_route(self.world, self.report, self.holder, self.recipient, level, shown, self.at, fails)

    def relay(self, level: str | None, shown: str, fails: list[Reason]) -> Decision | None:
        """The first arrangement in file order that relays the item, or None with every one's failures."""
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
        """The relay under one arrangement: its state, scope, rel_to, consent rule and both legs."""
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
        """Both hops through the hub, each under the first agreement that allows it (G3); else why not.

        Fine print: a failing first leg does not hide the second, which is then mapped with the level the hub
        would hold under the first leg-1 agreement in file order that maps the holder's level (with none, only
        its state and scope are checked); once an agreement carries a leg, the others' failures are not listed.
        """
        world, report, at, holder, recipient = self.world, self.report, self.at, self.holder, self.recipient
        firsts = world.between.get((holder, hub), ())
        seconds = world.between.get((hub, recipient), ())
        for a, b, leg_agreements in ((holder, hub, firsts), (hub, recipient, seconds)):
            if not leg_agreements:
                fails.append(Reason(Code.NO_LEG_AGREEMENT, f"no agreement between {a} and {b} to carry a leg"))
        first_fails: list[Reason] = []
        carried: str | None = None  # the hub's label under the first agreement that carries the first leg
        hub_level: str | None
        for first in firsts:
            hub_label = _leg_label(first, holder, hub, level, shown, report, at, first_fails)
            if hub_label is None:
                continue
            carried = carried or hub_label
            hub_level = world.parties[hub].canonical[hub_label]
            for second in seconds:
                label = carries(second, hub, recipient, hub_level, report.category_set, at)
                if label is not None:
                    return Leg(holder, hub, first.id, hub_label), Leg(hub, recipient, second.id, label)
        if carried is None:
            fails.extend(first_fails)
            carried = _first_mapping(firsts, holder, hub, level, at)
        hub_level = None if carried is None else world.parties[hub].canonical[carried]
        second_fails: list[Reason] = []
        for second in seconds:
            if _leg_label(second, hub, recipient, hub_level, carried or shown, report, at, second_fails) is not None:
                return None  # the second leg is carried; what fails is elsewhere
        fails.extend(second_fails)
        return None


def _first_mapping(
    agreements: tuple[Agreement, ...], sender: str, receiver: str, level: str | None, at: datetime
) -> str | None:
    """The receiver's label under the first agreement in file order whose text at `at` maps `level`."""
    if level is None:
        return None
    for agreement in agreements:
        label = agreement.text_at(at).translate(sender, receiver, level)
        if label is not None:
            return label
    return None


def unique(reasons: list[Reason]) -> tuple[Reason, ...]:
    """The reasons in order, each once (an agreement can fail for two routes alike)."""
    return tuple(dict.fromkeys(reasons))
