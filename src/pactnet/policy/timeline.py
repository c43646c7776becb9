"""An agreement's life as periods: in force, notice pending or suspended, each term end, the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pactnet.policy.clock import SMALLEST_STEP
from pactnet.policy.lifecycle import Notice, State

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.policy.model import Agreement, Arrangement


@dataclass(frozen=True, slots=True)
class Period:
    """From `start` until `stop` (exclusive; None: open-ended) the agreement stood so."""

    start: datetime
    stop: datetime | None
    state: State
    notice: Notice
    term_ends: datetime | None
    what: str


def _horizon(pact: Agreement | Arrangement, until: datetime | None) -> datetime | None:
    """Where the timeline stops: `until`, or the first term end after the last thing that happened."""
    history = pact.history
    if until is not None:
        return until
    if history.ended_at is not None:
        return history.ended_at
    last = max((moment.at for moment in history.moments), default=None)
    if last is None or history.schedule is None:
        return last
    k = history.schedule.first_end_after(last)
    return None if k is None else history.schedule.end(k)


def timeline(pact: Agreement | Arrangement, until: datetime | None = None) -> list[Period]:
    """The periods of an agreement's life up to `until` (default: the first term end after its last event)."""
    history = pact.history
    stop = _horizon(pact, until)
    notes: dict[datetime, list[str]] = {}
    for moment in history.moments:
        if stop is None or moment.at <= stop:
            notes.setdefault(moment.at, []).append(moment.what)
    if history.in_force_from is not None and stop is not None:
        last = history.ended_at if history.ended_at is not None and history.ended_at < stop else stop
        for end in history.term_ends_between(history.in_force_from, last + SMALLEST_STEP):
            if history.is_in_force(end):
                notes.setdefault(end, []).append("term ends: renewed")
        if stop not in notes and history.is_in_force(stop):
            notes.setdefault(stop, [])
    points = sorted(notes)
    periods: list[Period] = []
    for index, point in enumerate(points):
        status = history.status(point)
        following = points[index + 1] if index + 1 < len(points) else None
        if following is None and status.state is State.IN_FORCE and not notes[point]:
            break  # the horizon itself, with nothing happening there
        what = "; ".join(notes[point])
        periods.append(Period(point, following, status.state, status.notice, status.term_ends, what))
    return periods
