"""Local time in an agreement's time zone: fixed UTC offsets and IANA zones with summer time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
# RFC 3339 §5.6 date-time: full-date "T" full-time, with seconds and an offset; "T" and "Z" in either case.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


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
    except (ZoneInfoNotFoundError, ValueError) as error:
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


def local_date(instant: datetime, zone: tzinfo) -> date:
    """The date on the agreement's clock at `instant`."""
    return instant.astimezone(zone).date()


def local_time(instant: datetime, zone: tzinfo) -> datetime:
    """The naive local date and time on the agreement's clock at `instant`."""
    return instant.astimezone(zone).replace(tzinfo=None)


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant with an explicit offset; a naive or malformed one is a ValueError."""
    example = "2019-11-23T00:00:00+09:00"
    if not RFC3339.fullmatch(text):
        if RFC3339.fullmatch(text + "Z"):
            msg = f"an instant with a UTC offset (e.g. {example}), not {text!r}, which has none"
        else:
            msg = f"an RFC 3339 instant with an offset such as {example}, not {text!r}"
        raise ValueError(msg)
    try:
        at = datetime.fromisoformat(text.upper())
    except ValueError as error:
        msg = f"a real RFC 3339 instant with an offset, such as {example}, not {text!r} ({error})"
        raise ValueError(msg) from error
    try:
        return in_calendar(at)
    except ValueError as error:
        msg = f"{error}, not {text!r}"
        raise ValueError(msg) from error


def in_calendar(at: datetime) -> datetime:
    """The instant itself if it has a UTC form; RFC 3339 allows offsets that carry years 1 or 9999 past the calendar."""
    try:
        at.astimezone(UTC)
    except OverflowError as error:
        msg = "an instant between the years 1 and 9999 in UTC"
        raise ValueError(msg) from error
    return at
