"""Term schedules: the term ends of an agreement with a term, and the deadlines of notices for them.

world-format.md, "Fine print": the end of the term after k renewals is start + term + k x renewal, added to the
local date once and clamped once; a term end or deadline past the year 9999 means "never".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pactnet.policy.clock import NEVER_ON_TIME, local_midnight_or_never
from pactnet.policy.durations import Duration, add_to_date, subtract_from_date

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime, tzinfo


# A day of each kind, on average over the Gregorian 400-year cycle: only to guess a term index, never to count.
_DAYS_A_YEAR = 365.2425
_DAYS_A_MONTH = _DAYS_A_YEAR / 12


# The most term ends a schedule keeps (a few hundred kB): a scan over millions of daily terms is not kept whole.
_MEMO_SIZE = 4096
_UNKNOWN = object()


def _approximate_days(duration: Duration) -> float:
    return duration.years * _DAYS_A_YEAR + duration.months * _DAYS_A_MONTH + duration.days


@dataclass(frozen=True, slots=True)
class TermSchedule:
    """The term ends of an agreement with a term, computed from their index: immutable, so safe across threads.

    Fine print: the end of the term after k renewals is start + term + k x renewal, added to the local date once
    and clamped once; so any term end is a few date sums away, and the index of the one after an instant is
    guessed from the average length of a term and then corrected by one step at a time (a few at most). A term
    end past the year 9999 is None: "never".
    """

    start: date
    term: Duration
    renewal: Duration | None
    zone: tzinfo
    # Term ends already computed, by index: a memo, not state. Each value depends on its index alone, and a
    # dict's get and set are atomic, so threads that fill it at once store the same value (bounded in size).
    _memo: dict[int, datetime | None] = field(default_factory=dict, compare=False, repr=False)
    # For guessing only: the ordinal of the first term's end on average, and the average days of a renewal.
    _first_days: float = field(init=False, compare=False, repr=False)
    _renewal_days: float = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        renewal = 0.0 if self.renewal is None else _approximate_days(self.renewal)
        object.__setattr__(self, "_first_days", self.start.toordinal() + _approximate_days(self.term))
        object.__setattr__(self, "_renewal_days", renewal)

    def day(self, k: int) -> date | None:
        """The local date on which term k ends (0 is the first term), or None past the year 9999."""
        total = self.term if k == 0 or self.renewal is None else self.term.plus(self.renewal.times(k))
        try:
            return add_to_date(self.start, total)
        except (OverflowError, ValueError):
            return None

    def end(self, k: int) -> datetime | None:
        """The end of term k (0 is the first term), or None when it falls past the year 9999 (never)."""
        memo = self._memo
        end = memo.get(k, _UNKNOWN)
        if end is _UNKNOWN:
            day = self.day(k)
            end = None if day is None else local_midnight_or_never(day, self.zone)
            if len(memo) < _MEMO_SIZE:
                memo[k] = end
        return end  # type: ignore[return-value]  # _UNKNOWN was replaced

    def _ends_after(self, k: int, at: datetime) -> bool:
        end = self.end(k)
        return end is None or end > at

    def _guess(self, at: datetime, extra_days: float = 0.0) -> int:
        """The index of the term end about `extra_days` after `at`, from the average lengths (renewing only)."""
        guess = int((at.toordinal() + extra_days - self._first_days) // self._renewal_days)
        return max(0, guess)

    def first_end_after(self, at: datetime) -> int | None:
        """The index of the first term end strictly after `at`, or None once a fixed term is over."""
        if self.renewal is None:
            return 0 if self._ends_after(0, at) else None
        return self.next_end(at)[0]

    def next_end(self, at: datetime) -> tuple[int, datetime | None]:
        """The index and the instant of the first term end strictly after `at` (renewing agreements)."""
        # _first(guess, 0, ends after `at`), written out: it runs on every status lookup.
        end = self.end
        k = self._guess(at)
        while k > 0:
            previous = end(k - 1)
            if previous is not None and previous <= at:
                break
            k -= 1
        while True:
            current = end(k)
            if current is None or current > at:
                return k, current
            k += 1

    def deadline(self, k: int, notice_period: Duration) -> datetime | None:
        """The instant before which a notice must be received to count for term end k; None: never too late."""
        day = self.day(k)
        if day is None:
            return None
        try:
            before = subtract_from_date(day, notice_period)
        except (OverflowError, ValueError):
            return NEVER_ON_TIME  # a deadline before the year 1: no instant meets it
        return local_midnight_or_never(before, self.zone)

    def first_end_whose_deadline_is_after(self, at: datetime, notice_period: Duration) -> int:
        """The first term end T with `at` < T - notice period (strictly)."""
        first = self.first_end_after(at)
        assert first is not None  # noqa: S101 - only renewing agreements reach here, and they always have a next term

        def meets(k: int) -> bool:
            deadline = self.deadline(k, notice_period)
            return deadline is None or at < deadline

        guess = self._guess(at, _approximate_days(notice_period)) if self.renewal is not None else first
        return _first(guess, first, meets)


def _first(guess: int, low: int, holds: Callable[[int], bool]) -> int:
    """The smallest index >= low at which the monotone `holds` is true, searched from a close guess."""
    k = max(guess, low)
    while k > low and holds(k - 1):
        k -= 1
    while not holds(k):
        k += 1
    return k
