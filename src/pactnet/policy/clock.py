"""Local time in an agreement's time zone: fixed UTC offsets and IANA zones with summer time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
# RFC 3339 §5.6 date-time: full-date "T" full-time, with seconds and an offset; "T" and "Z" in either case.
# Fine print: fractions of any length, digits past the microsecond dropped.
RFC3339 = re.compile(r"(\d{4})(-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")
# The Gregorian calendar repeats every 400 years (146,097 days): how an instant written in the local year 0
# is read, by reading it 400 years later and moving it back.
_CYCLE_YEARS = 400
_CYCLE = timedelta(days=146_097)


def parse_timezone(text: str) -> tzinfo:
    """A fixed offset (`+09:00`) or an IANA name (`Europe/Paris`); anything else is a ValueError."""
    match = _OFFSET.fullmatch(text)
    if match:
        sign, hours, minutes = match.groups()
        if int(hours) > 23 or int(minutes) > 59:  # noqa: PLR2004 - the bounds of an hour and a minute
            msg = f"a UTC offset between -23:59 and +23:59, not {text!r}"
            raise ValueError(msg)
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # "America" is a folder: IsADirectoryError
        msg = f'a UTC offset such as "+09:00" or an IANA time zone name, not {text!r}'
        raise ValueError(msg) from error


def to_instant(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a naive local time in `zone`.

    world-format.md fine print: a local time in a summer-time gap moves forward by the length of the gap,
    and one that occurs twice is the earlier instant. PEP 495's fold=0 does exactly both.
    """
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """00:00 local time on `day`, as a UTC instant: every term boundary is one of these."""
    return to_instant(datetime(day.year, day.month, day.day), zone)  # noqa: DTZ001 - naive local by design


# An instant before every instant there is: a deadline before the year 1, which no notice can meet.
NEVER_ON_TIME = datetime.min.replace(tzinfo=UTC)
# The smallest step of time a datetime knows: makes an inclusive bound of an exclusive one.
SMALLEST_STEP = timedelta(microseconds=1)


def local_midnight_or_never(day: date, zone: tzinfo) -> datetime | None:
    """local_midnight, or None when that instant falls past the year 9999 in UTC ("never", fine print).

    Before the year 1 it is NEVER_ON_TIME: only a deadline can fall there, and nothing meets it.
    """
    try:
        return local_midnight(day, zone)
    except OverflowError:
        return None if day.year > 1 else NEVER_ON_TIME


def local_time(instant: datetime, zone: tzinfo) -> datetime:
    """The naive local date and time on the agreement's clock at `instant`.

    Fine print: where the local date falls in the year 0 or 10000, the zone's offset at that edge of the
    calendar is used; Python's dates end there, so the local time is held at the edge (0001-01-01T00:00 or
    9999-12-31T23:59:59.999999).
    """
    try:
        return instant.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if instant.year == 1 else datetime.max  # noqa: DTZ901 - naive local time by design


def local_date(instant: datetime, zone: tzinfo) -> date:
    """The date on the agreement's clock at `instant` (held at the calendar's edge, as local_time)."""
    return local_time(instant, zone).date()


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant with an explicit offset; a naive or malformed one is a ValueError."""
    example = "2019-11-23T00:00:00+09:00"
    match = RFC3339.fullmatch(text)
    if match is None:
        if RFC3339.fullmatch(text + "Z"):
            msg = f"an instant with a UTC offset (e.g. {example}), not {text!r}, which has none"
        else:
            msg = f"an RFC 3339 instant with an offset such as {example}, not {text!r}"
        raise ValueError(msg)
    year, rest, fraction, offset = match.groups()
    shifted = int(year) == 0  # only an instant such as 0000-12-31T23:00:00-01:00, which is in the year 1 in UTC
    written = f"{int(year) + _CYCLE_YEARS if shifted else int(year):04d}{rest}"
    written += f".{fraction[:6]}" if fraction else ""
    try:
        moment = datetime.fromisoformat((written + offset).upper())
    except ValueError as error:
        msg = f"a real RFC 3339 instant with an offset, such as {example}, not {text!r} ({error})"
        raise ValueError(msg) from error
    try:
        in_utc = moment.astimezone(UTC)
        return in_utc - _CYCLE if shifted else moment
    except OverflowError as error:
        msg = f"an instant from the year 1 to the year 9999 in UTC, not {text!r}"
        raise ValueError(msg) from error


def show_instant(instant: datetime, zone: tzinfo) -> str:
    """RFC 3339 in `zone`; in UTC where the local time would fall outside the years 1 to 9999 (fine print)."""
    try:
        return instant.astimezone(zone).isoformat()
    except OverflowError:
        return instant.astimezone(UTC).isoformat()


def in_calendar(at: datetime) -> datetime:
    """The instant itself if it has a UTC form; RFC 3339 allows offsets that carry years 1 or 9999 past it."""
    try:
        at.astimezone(UTC)
    except OverflowError as error:
        msg = "an instant between the years 1 and 9999 in UTC"
        raise ValueError(msg) from error
    return at
