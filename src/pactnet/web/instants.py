"""Instants typed into the console's forms: RFC 3339, or a date, read precisely with a message that says how."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

_LONGEST = 40


def read_instant(text: str) -> datetime:
    """An instant from `2019-11-23T00:00:00+09:00`, or from `2019-11-23` (midnight UTC); ValueError otherwise."""
    text = text.strip()
    if len(text) > _LONGEST:
        raise ValueError("too long")
    if len(text) == len("2019-11-23"):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment


def instant_field(request: Request, name: str, default: datetime) -> tuple[datetime, str | None]:
    """The query's instant `name`, or `default` when it is absent or blank; a bad one is `default` and a message."""
    given = request.query_params.get(name, "").strip()
    if not given:
        return default, None
    try:
        return read_instant(given), None
    except ValueError:
        shown = given[:_LONGEST]
        return default, (
            f"{name}: {shown!r} is not an instant; write a date (2019-11-23) or RFC 3339 with an offset "
            "(2019-11-23T00:00:00+09:00)."
        )
