"""Instants as the store keeps them: fixed-width UTC text that sorts as the instants do (store.tables.INSTANT)."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def instant_text(at: datetime) -> str:
    """The fixed-width UTC text instants are stored as (see store.tables.INSTANT)."""
    return at.astimezone(UTC).strftime(_FORMAT)


def parse_instant_text(text: str) -> datetime:
    """The inverse of `instant_text`."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
