"""Calendar durations (ISO 8601 years, months, weeks, days) and the date arithmetic of world-format.md."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")
# Fine print: a duration over 1,000 years of 365.2425 days is an error; a month is a twelfth of that year.
# Counted exactly, in 120,000ths of a day: a year is 43,829,100 of them, a month 3,652,425, a day 120,000.
_YEAR_PARTS, _MONTH_PARTS, _DAY_PARTS = 43_829_100, 3_652_425, 120_000
_MOST_PARTS = 1000 * _YEAR_PARTS


@dataclass(frozen=True, slots=True)
class Duration:
    """A positive calendar duration; weeks are kept as days (a week is always seven days)."""

    years: int = 0
    months: int = 0
    days: int = 0
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read `P1Y`, `P6M`, `P2W`, `P90D`, `P1Y6M`; a time part, zero or a sign is a ValueError."""
        match = _DURATION.fullmatch(text)
        if match is None or text == "P":
            msg = f"an ISO 8601 duration in years, months, weeks and days such as P1Y or P90D, not {text!r}"
            raise ValueError(msg)
        years, months, weeks, days = (int(part) if part else 0 for part in match.groups())
        if years == months == weeks == days == 0:
            msg = f"a duration longer than zero, not {text!r}"
            raise ValueError(msg)
        if years * _YEAR_PARTS + months * _MONTH_PARTS + (weeks * 7 + days) * _DAY_PARTS > _MOST_PARTS:
            msg = f"a duration of at most 1,000 years (of 365.2425 days; P12000M, P365242D), not {text!r}"
            raise ValueError(msg)
        return cls(years, months, weeks * 7 + days, text)

    def times(self, factor: int) -> Duration:
        """This duration repeated `factor` times, as one sum (for term ends after k renewals)."""
        return Duration(self.years * factor, self.months * factor, self.days * factor, self.text)

    def plus(self, other: Duration) -> Duration:
        """The component-wise sum of two durations."""
        return Duration(self.years + other.years, self.months + other.months, self.days + other.days)

    def __str__(self) -> str:
        return self.text or f"P{self.years}Y{self.months}M{self.days}D"


def _shift_months(day: date, months: int) -> date:
    """Move by whole months; a day the target month lacks becomes its last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_to_date(day: date, duration: Duration) -> date:
    """Years and months first (clamped once), then days."""
    shifted = _shift_months(day, duration.years * 12 + duration.months)
    return shifted + timedelta(days=duration.days)


def subtract_from_date(day: date, duration: Duration) -> date:
    """world-format.md fine print: years and months first, then weeks and days, on the local date."""
    shifted = _shift_months(day, -(duration.years * 12 + duration.months))
    return shifted - timedelta(days=duration.days)


def add_to_local(moment: datetime, duration: Duration) -> datetime:
    """Add to a naive local date and time, keeping the time of day."""
    return datetime.combine(add_to_date(moment.date(), duration), moment.time())
