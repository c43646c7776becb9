"""Agreements over time, as the console draws them: periods, term ends and deadlines; all of them at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pactnet.policy.clock import SMALLEST_STEP
from pactnet.policy.model import Agreement, Arrangement
from pactnet.policy.timeline import Period, timeline
from pactnet.services import NotFoundError

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.policy.lifecycle import History, Status
    from pactnet.policy.model import World
    from pactnet.services.context import Node

# Enough term ends for any chart a person reads; a renewing agreement has infinitely many.
_MOST_TERMS = 200


@dataclass(frozen=True, slots=True)
class TermEnd:
    """One end of a term, and the instant before which a notice had to arrive to end the agreement there."""

    at: datetime
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class PactTimeline:
    """An agreement's or arrangement's life up to now or its scheduled end, whichever is later."""

    pact: Agreement | Arrangement
    parties: tuple[str, ...]
    now: datetime
    status: Status
    periods: tuple[Period, ...]
    term_ends: tuple[TermEnd, ...]
    amendments: tuple[datetime, ...]


def _parties(pact: Agreement | Arrangement) -> tuple[str, ...]:
    return (pact.hub, *pact.members) if isinstance(pact, Arrangement) else pact.parties


def _term_ends(pact: Agreement | Arrangement, start: datetime, stop: datetime) -> tuple[TermEnd, ...]:
    """The term ends within the chart, each with its deadline for notice (an arrangement has none)."""
    history: History = pact.history
    notice = pact.notice_period if isinstance(pact, Agreement) else None
    found: list[TermEnd] = []
    for end in history.term_ends_between(start, stop + SMALLEST_STEP)[:_MOST_TERMS]:
        deadline = None
        if notice is not None and history.schedule is not None:
            # The term that ends at `end` is the first to end after the instant just before it.
            k, _ = history.schedule.next_end(end - SMALLEST_STEP)
            deadline = history.schedule.deadline(k, notice)
        found.append(TermEnd(end, deadline))
    return tuple(found)


def _amendments(pact: Agreement | Arrangement) -> tuple[datetime, ...]:
    dated = pact.texts if isinstance(pact, Agreement) else pact.scopes
    return tuple(since for since, _ in dated if since is not None)


def life_of(pact: Agreement | Arrangement, now: datetime) -> PactTimeline:
    """The life so far and, ahead of now, as it stands: up to the scheduled end or the end of the current term."""
    status = pact.history.status(now)
    periods = timeline(pact)
    if pact.history.ended_at is None:
        ahead = [moment for moment in (status.ends_at, status.term_ends) if moment is not None]
        horizon = max([now, *ahead])
        last = (periods[-1].stop or periods[-1].start) if periods else None
        if last is None or last < horizon:
            periods = timeline(pact, horizon)
    start = periods[0].start if periods else now
    stop = max([now, *(moment for p in periods for moment in (p.start, p.stop) if moment is not None)])
    return PactTimeline(
        pact,
        _parties(pact),
        now,
        status,
        tuple(periods),
        _term_ends(pact, start, stop),
        _amendments(pact),
    )


def _world(node: Node) -> World:
    with node.uow.read() as connection:
        return node.refresh(connection)


def party_timelines(node: Node) -> list[PactTimeline]:
    """Every agreement and arrangement this party is in, with its life so far and its state now."""
    world = _world(node)
    pacts: list[Agreement | Arrangement] = [*world.agreements.values(), *world.arrangements.values()]
    now = node.now()
    return [life_of(pact, now) for pact in pacts if node.party in _parties(pact)]


def pact_timeline(node: Node, pact_id: str) -> PactTimeline:
    """One agreement or arrangement this party is in; any other is not found, as a missing one."""
    pact = _world(node).pact(pact_id)
    if pact is None or node.party not in _parties(pact):
        raise NotFoundError(f"no agreement or arrangement {pact_id!r} that {node.party} is in")
    return life_of(pact, node.now())


@dataclass(frozen=True, slots=True)
class Network:
    """Every party, agreement and hub of the world, and each pact's status at one instant."""

    at: datetime
    parties: tuple[tuple[str, str], ...]
    pacts: tuple[tuple[Agreement | Arrangement, Status], ...]


def network_at(node: Node, at: datetime) -> Network:
    """The world's parties and pacts as they stood at `at` (acts recorded so far included)."""
    world = _world(node)
    pacts: list[Agreement | Arrangement] = [*world.agreements.values(), *world.arrangements.values()]
    parties = tuple((code, party.name) for code, party in world.parties.items())
    return Network(at, parties, tuple((pact, pact.history.status(at)) for pact in pacts))
