"""The lifecycle engine: replay an agreement's events once, then answer its status at any instant by lookup.

The date arithmetic follows world-format.md ("Terms, renewals and notice", "Fine print"); the rules it models
are GSOMIA art. 21 (agreements.md L1-L6).
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING

from pactnet.errors import PolicyError
from pactnet.policy.clock import (
    local_date,
    local_time,
    show_instant,
    to_instant,
)
from pactnet.policy.durations import Duration, add_to_local
from pactnet.policy.events import NOTICE_ACTS, Event, EventType
from pactnet.policy.model import LateNotice, ResumedNotice
from pactnet.policy.terms import TermSchedule

if TYPE_CHECKING:
    from collections.abc import Iterable


class State(StrEnum):
    """Where an agreement stands in its life."""

    NOT_IN_FORCE = "not_in_force"
    SIGNED = "signed"
    IN_FORCE = "in_force"
    TERMINATED = "terminated"


class Notice(StrEnum):
    """The termination notice an agreement in force carries, if any."""

    NONE = "none"
    PENDING = "pending"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Terms:
    """What the lifecycle needs to know of an agreement or an arrangement."""

    id: str
    parties: tuple[str, ...]
    zone: tzinfo
    term: Duration | None = None
    renewal: Duration | None = None
    notice_period: Duration | None = None
    late_notice: LateNotice = LateNotice.NEXT_TERM
    resumed_notice: ResumedNotice = ResumedNotice.AT_TERM_END
    is_arrangement: bool = False

    @property
    def is_fixed_term(self) -> bool:
        """A term without renewal: it ends with its term and cannot be ended by notice."""
        return self.term is not None and self.renewal is None


@dataclass(frozen=True, slots=True)
class Status:
    """An agreement's status at an instant (world-format.md, "What the core answers")."""

    agreement: str
    at: datetime
    state: State
    notice: Notice
    term_ends: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None

    def as_dict(self, zone: tzinfo) -> dict[str, str | None]:
        """JSON-ready, every instant in RFC 3339 with the agreement's offset at that instant."""

        def show(instant: datetime | None) -> str | None:
            return None if instant is None else show_instant(instant, zone)

        return {
            "agreement": self.agreement,
            "at": show(self.at),
            "state": self.state.value,
            "notice": self.notice.value,
            "term_ends": show(self.term_ends),
            "ends_at": show(self.ends_at),
            "ended_at": show(self.ended_at),
        }


@dataclass(frozen=True, slots=True)
class NoticeSpan:
    """From `start` until the next span, the agreement carries this notice."""

    start: datetime
    notice: Notice
    ends_at: datetime | None = None
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Moment:
    """Something worth showing on a timeline."""

    at: datetime
    what: str


@dataclass(frozen=True, slots=True)
class EventProblem:
    """An event that makes no sense where it stands."""

    event: Event
    found: str
    expected: str


@dataclass(slots=True)
class History:
    """An agreement's replayed life: when it was signed, in force and ended, and its notices over time."""

    id: str
    zone: tzinfo
    fixed_term: bool = False
    # What the replay finds, filled in event by event.
    signed_at: datetime | None = None
    in_force_from: datetime | None = None
    ended_at: datetime | None = None
    end_cause: str | None = None
    schedule: TermSchedule | None = None
    spans: list[NoticeSpan] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)
    _span_starts: list[datetime] = field(default_factory=list)

    def is_in_force(self, at: datetime) -> bool:
        """In force from entry into force (inclusive) to the end (exclusive)."""
        start = self.in_force_from
        if start is None or at < start:
            return False
        end = self.ended_at
        return end is None or at < end

    def status(self, at: datetime) -> Status:
        """The status at `at`, by lookup: it depends only on events at or before `at`."""
        if at.tzinfo is None:
            raise PolicyError(f"status: the instant {at.isoformat()} has no UTC offset; time zones are explicit")
        if self.in_force_from is None or at < self.in_force_from:
            signed = self.signed_at is not None and self.signed_at <= at
            state = State.SIGNED if signed else State.NOT_IN_FORCE
            return Status(self.id, at, state, Notice.NONE, None, None, None)
        if self.ended_at is not None and at >= self.ended_at:
            return Status(self.id, at, State.TERMINATED, Notice.NONE, None, None, self.ended_at)
        span = self.spans[bisect_right(self._span_starts, at) - 1]
        term_ends: datetime | None = None
        schedule = self.schedule
        if schedule is not None:
            if schedule.renewal is not None:
                term_ends = schedule.next_end(at)[1]
            else:
                term_ends = schedule.end(0) if schedule.first_end_after(at) is not None else None
        ends_at = span.ends_at if span.notice is Notice.PENDING else None
        if self.fixed_term:
            ends_at = term_ends
        return Status(self.id, at, State.IN_FORCE, span.notice, term_ends, ends_at, None)

    def notice_span(self, at: datetime) -> NoticeSpan | None:
        """The notice span in effect at `at`, if the agreement is in force."""
        if not self.is_in_force(at):
            return None
        return self.spans[bisect_right(self._span_starts, at) - 1]

    def ending_at(self, at: datetime) -> History:
        """This history as if the agreement ended at `at` (for "what breaks if this agreement ends?")."""
        if self.ended_at is not None and self.ended_at <= at:
            return self
        ended = copy.copy(self)
        ended.ended_at = at
        ended.end_cause = "ended (what-if)"
        return ended

    def term_ends_between(self, start: datetime, stop: datetime) -> list[datetime]:
        """Every term end in [start, stop), for timelines."""
        if self.schedule is None:
            return []
        ends: list[datetime] = []
        k = self.schedule.first_end_after(start)
        while k is not None:
            end = self.schedule.end(k)
            if end is None or end >= stop or (self.fixed_term and k > 0):
                break
            ends.append(end)
            k = k + 1 if not self.fixed_term else None
        return ends

    def add_span(self, span: NoticeSpan) -> None:
        """Record a change of notice (used while replaying)."""
        self.spans.append(span)
        self._span_starts.append(span.start)


class _Replay:
    """One pass over an agreement's events in order, building its History and noting every misplaced event."""

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.history = History(terms.id, terms.zone, fixed_term=terms.is_fixed_term)
        self.problems: list[EventProblem] = []
        self.amendments: list[Event] = []
        self.scheduled_end: datetime | None = None
        self.end_cause: str | None = None
        self.notice: NoticeSpan = NoticeSpan(datetime.min.replace(tzinfo=UTC), Notice.NONE)

    def show(self, instant: datetime) -> str:
        return show_instant(instant, self.terms.zone)

    def problem(self, event: Event, found: str, expected: str) -> None:
        self.problems.append(EventProblem(event, found, expected))

    def note(self, at: datetime, what: str) -> None:
        self.history.moments.append(Moment(at, what))

    def run(self, events: Iterable[Event]) -> None:
        for event in events:
            self.reach(event.at)
            if self.history.ended_at is not None:
                self.problem(
                    event,
                    f"{event.type} at {self.show(event.at)}",
                    f"no event at or after {self.show(self.history.ended_at)}, when {self.terms.id} ended",
                )
                continue
            self.apply(event)
        if self.history.ended_at is None and self.scheduled_end is not None:
            self.end(self.scheduled_end, self.end_cause or "ended")

    def reach(self, at: datetime) -> None:
        """Let time pass up to `at`: a scheduled end at or before it has happened."""
        if self.history.ended_at is None and self.scheduled_end is not None and self.scheduled_end <= at:
            self.end(self.scheduled_end, self.end_cause or "ended")

    def end(self, at: datetime, cause: str) -> None:
        self.history.ended_at = at
        self.history.end_cause = cause
        self.note(at, f"ends ({cause})")

    def apply(self, event: Event) -> None:
        kind = event.type
        in_force = self.history.in_force_from is not None
        if kind is EventType.SIGN:
            self.sign(event)
        elif kind is EventType.ENTER_INTO_FORCE:
            self.enter_into_force(event)
        elif not in_force:
            self.problem(
                event,
                f"{kind} at {self.show(event.at)}, before {self.terms.id} entered into force",
                "only sign and enter_into_force before entry into force",
            )
        elif kind in NOTICE_ACTS:
            self.notice_act(event)
        elif kind is EventType.TERMINATE:
            self.end(event.at, "terminated by mutual consent")
        elif kind is EventType.AMEND:
            self.amendments.append(event)
            self.note(event.at, f"amended ({', '.join(sorted(event.changes or {}))})")

    def sign(self, event: Event) -> None:
        if self.history.signed_at is not None:
            self.problem(event, "a second sign event", f"one signature (signed at {self.show(self.history.signed_at)})")
        elif self.history.in_force_from is not None:
            self.problem(event, "sign after entry into force", "sign before or at entry into force")
        else:
            self.history.signed_at = event.at
            self.note(event.at, "signed")

    def enter_into_force(self, event: Event) -> None:
        history = self.history
        if history.in_force_from is not None:
            found = f"a second enter_into_force (in force since {self.show(history.in_force_from)})"
            self.problem(event, found, "one entry into force")
            return
        history.in_force_from = event.at
        history.add_span(NoticeSpan(event.at, Notice.NONE))
        terms = self.terms
        if terms.term is not None:
            # Fine print: the first term starts on the local date of entry into force.
            start = local_date(event.at, terms.zone)
            history.schedule = TermSchedule(start, terms.term, terms.renewal, terms.zone)
            if terms.is_fixed_term:
                self.scheduled_end = history.schedule.end(0)
                self.end_cause = "its fixed term ended"
        self.note(event.at, "enters into force")

    def notice_act(self, event: Event) -> None:
        terms = self.terms
        if terms.is_arrangement:
            self.problem(event, f"{event.type} on an arrangement", "no notices: an arrangement has no terms")
            return
        if event.by not in terms.parties:
            self.problem(event, f"by = {event.by!r}", f"one of the parties {', '.join(terms.parties)}")
            return
        if event.type is EventType.NOTIFY_TERMINATION:
            self.notify(event)
            return
        current = self.notice
        wanted = {
            EventType.SUSPEND_NOTICE: (Notice.PENDING,),
            EventType.RESUME_NOTICE: (Notice.SUSPENDED,),
            EventType.WITHDRAW_NOTICE: (Notice.PENDING, Notice.SUSPENDED),
        }[event.type]
        if current.notice not in wanted:
            found = f"{event.type} while the notice is {current.notice}"
            self.problem(event, found, f"a notice that is {' or '.join(wanted)}")
        elif event.by != current.by:
            self.problem(event, f"{event.type} by {event.by}", f"the party that gave the notice ({current.by})")
        elif event.type is EventType.SUSPEND_NOTICE:
            self.set_notice(NoticeSpan(event.at, Notice.SUSPENDED, None, event.by), None)
            self.note(event.at, f"notice suspended by {event.by}: no end is scheduled")
        elif event.type is EventType.WITHDRAW_NOTICE:
            self.set_notice(NoticeSpan(event.at, Notice.NONE), None)
            self.note(event.at, f"notice withdrawn by {event.by}")
        else:
            self.resume(event)

    def notify(self, event: Event) -> None:
        terms = self.terms
        if terms.is_fixed_term:
            found = "notify_termination on a fixed-term agreement"
            self.problem(event, found, "no notice: it ends with its term (terminate ends it earlier)")
            return
        if self.notice.notice is not Notice.NONE:
            found = f"a second notice while one by {self.notice.by} is {self.notice.notice}"
            self.problem(event, found, "one notice at a time")
            return
        lapses, end = self.notice_end(event.at, late_notice=terms.late_notice)
        if lapses:
            self.note(event.at, f"notice by {event.by} received too late for this term: it lapses")
            return
        self.set_notice(NoticeSpan(event.at, Notice.PENDING, end, event.by), end)
        self.note(event.at, f"notice of termination by {event.by}: ends at {self.show(end) if end else 'never'}")

    def resume(self, event: Event) -> None:
        terms = self.terms
        if terms.resumed_notice is ResumedNotice.IMMEDIATE:
            self.set_notice(NoticeSpan(event.at, Notice.PENDING, event.at, event.by), event.at)
            self.end_cause = f"notice resumed by {event.by} with immediate effect"
            self.reach(event.at)
            return
        _, end = self.notice_end(event.at, late_notice=None)
        self.set_notice(NoticeSpan(event.at, Notice.PENDING, end, event.by), end)
        self.note(event.at, f"notice resumed by {event.by}: ends at {self.show(end) if end else 'never'}")

    def notice_end(self, at: datetime, late_notice: LateNotice | None) -> tuple[bool, datetime | None]:
        """Whether a notice received (or resumed) at `at` lapses, and else when it ends the agreement.

        An end past the year 9999 is None: the notice is pending, and ends nothing (fine print, "never").
        """
        terms = self.terms
        period = terms.notice_period
        assert period is not None  # noqa: S101 - the loader requires notice_period wherever a notice is possible
        schedule = self.history.schedule
        if schedule is None:
            # Indefinite: n + notice_period on n's local date and time.
            try:
                return False, to_instant(add_to_local(local_time(at, terms.zone), period), terms.zone)
            except (OverflowError, ValueError):
                return False, None
        current = schedule.first_end_after(at)
        assert current is not None  # noqa: S101 - renewing agreements always have a next term end
        deadline = schedule.deadline(current, period)
        on_time = deadline is None or at < deadline
        if not on_time and late_notice is LateNotice.LAPSE:
            return True, None
        # On time: the current term end. Late with "next-term", or resumed: the first later one it meets.
        return False, schedule.end(schedule.first_end_whose_deadline_is_after(at, period))

    def set_notice(self, span: NoticeSpan, scheduled_end: datetime | None) -> None:
        self.notice = span
        self.history.add_span(span)
        self.scheduled_end = scheduled_end
        self.end_cause = f"notice of termination by {span.by}" if scheduled_end is not None else None


@dataclass(frozen=True, slots=True)
class Replayed:
    """The outcome of replaying one agreement's events."""

    history: History
    problems: list[EventProblem]
    amendments: list[Event]


def replay(terms: Terms, events: Iterable[Event]) -> Replayed:
    """Replay an agreement's events (already in order) into its History, noting events out of place."""
    run = _Replay(terms)
    run.run(events)
    return Replayed(run.history, run.problems, run.amendments)
