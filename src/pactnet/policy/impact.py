"""Impact: what breaks if an agreement ends; routes per pair and category, and report flows, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pactnet.policy.decisions import Decision, decide
from pactnet.policy.model import Report

if TYPE_CHECKING:
    from pactnet.policy.model import World


# How information gets from one party to another, best first.
RouteKind = StrEnum("RouteKind", [("DIRECT", "direct"), ("HUB", "hub"), ("NONE", "none")])


@dataclass(frozen=True, slots=True)
class Route:
    """The best route found: direct under an agreement, through a hub, or none."""

    kind: RouteKind
    hub: str | None = None
    under: tuple[str, ...] = ()

    @classmethod
    def of(cls, decision: Decision) -> Route:
        """The route a decision takes."""
        if not decision.allowed:
            return cls(RouteKind.NONE)
        under = tuple(leg.under for leg in decision.legs)
        return cls(RouteKind.HUB, decision.hub, under) if decision.hub else cls(RouteKind.DIRECT, None, under)

    def __str__(self) -> str:
        if self.kind is RouteKind.DIRECT:
            return f"direct ({self.under[0]})"
        if self.kind is RouteKind.HUB:
            return f"via {self.hub} ({', '.join(self.under)})"
        return "none"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"kind": self.kind.value, "hub": self.hub, "under": list(self.under), "text": str(self)}


@dataclass(frozen=True, slots=True)
class PairImpact:
    """The best route for one category from `sender` to `receiver`, before and after."""

    sender: str
    receiver: str
    category: str
    before: Route
    after: Route

    @property
    def changed(self) -> bool:
        """Whether the end of the agreement changes this route."""
        return self.before != self.after


@dataclass(frozen=True, slots=True)
class FlowImpact:
    """How one report reaches one recipient from its originator, before and after."""

    report: str
    recipient: str
    before: Route
    after: Route
    why_not: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Impact:
    """The answer to "what breaks if this agreement ends at this instant?"."""

    pact: str
    at: datetime
    pairs: tuple[PairImpact, ...]
    flows: tuple[FlowImpact, ...]

    def counts(self, *, after: bool) -> dict[str, int]:
        """How many report flows go directly, only through a hub, or not at all."""
        counts = {kind.value: 0 for kind in RouteKind}
        for flow in self.flows:
            counts[(flow.after if after else flow.before).kind.value] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the shape `pactnet impact --json` prints."""
        return {
            "agreement": self.pact,
            "at": self.at.isoformat(),
            "pairs": [
                {
                    "from": pair.sender,
                    "to": pair.receiver,
                    "category": pair.category,
                    "before": pair.before.as_dict(),
                    "after": pair.after.as_dict(),
                    "changed": pair.changed,
                }
                for pair in self.pairs
            ],
            "reports": [
                {
                    "report": flow.report,
                    "to": flow.recipient,
                    "before": flow.before.as_dict(),
                    "after": flow.after.as_dict(),
                    "why_not": list(flow.why_not),
                }
                for flow in self.flows
            ],
            "counts": {"before": self.counts(after=False), "after": self.counts(after=True)},
        }


def _best_route(world: World, sender: str, receiver: str, category: str, at: datetime) -> Route:
    """The best route for any item of `category` at any level of the sender's scheme, consent assumed."""
    best = Route(RouteKind.NONE)
    for level in reversed(world.parties[sender].levels):
        probe = Report(f"any {category} item", sender, level, level, (category,), frozenset({category}), None, None)
        route = Route.of(decide(world, probe, sender, receiver, at, assume_consent=True))
        if route.kind is RouteKind.DIRECT:
            return route
        if route.kind is RouteKind.HUB and best.kind is RouteKind.NONE:
            best = route
    return best


def impact(world: World, pact_id: str, at: datetime) -> Impact:
    """Routes and report flows at `at` as the world stands, and as if `pact_id` ended at `at`.

    Report flows go from each report's originator to every other party it may be released to, with the
    consents of the world; whether the report existed yet at `at` is not asked (the question is about routes).
    """
    asked = at
    at = at.astimezone(UTC)
    ended = world.ending(pact_id, at)
    parties = list(world.parties)
    categories = world.categories()
    pairs = [
        PairImpact(
            sender,
            receiver,
            category,
            _best_route(world, sender, receiver, category, at),
            _best_route(ended, sender, receiver, category, at),
        )
        for sender in parties
        for receiver in parties
        if sender != receiver
        for category in categories
    ]
    flows: list[FlowImpact] = []
    for report in world.reports.values():
        for recipient in parties:
            if recipient == report.originator or (report.rel_to is not None and recipient not in report.rel_to):
                continue
            before = decide(world, report, report.originator, recipient, at, ignore_created=True)
            after = decide(ended, report, report.originator, recipient, at, ignore_created=True)
            why_not = tuple(reason.message for reason in after.reasons)
            flows.append(FlowImpact(report.id, recipient, Route.of(before), Route.of(after), why_not))
    return Impact(pact_id, asked, tuple(pairs), tuple(flows))
