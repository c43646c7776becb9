"""Instants as the store keeps them: fixed-width UTC text that sorts as the instants do (store.tables.INSTANT)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_FOUR_DIGITS = 1000


@lru_cache(maxsize=256)
def instant_text(at: datetime) -> str:
    """The fixed-width UTC text instants are stored as (see store.tables.INSTANT).

    Cached: one write stamps every row it stores (a report, its decisions, its transfers) with the same instant,
    and formatting costs more than looking it up. The C library's `%Y` does not pad a year before 1000, so the
    year is written here, always with four digits, or such an instant would neither sort nor parse back.
    """
    utc = at.astimezone(UTC)
    text = utc.strftime(_FORMAT)
    return text if utc.year >= _FOUR_DIGITS else f"{utc.year:04d}{text[text.index('-') :]}"


def parse_instant_text(text: str) -> datetime:
    """The inverse of `instant_text`."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
