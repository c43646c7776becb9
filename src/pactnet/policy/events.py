"""What happened, when: the events of a world, in the order they apply."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime


class EventType(StrEnum):
    """Every kind of event world-format.md knows."""

    SIGN = "sign"
    ENTER_INTO_FORCE = "enter_into_force"
    NOTIFY_TERMINATION = "notify_termination"
    SUSPEND_NOTICE = "suspend_notice"
    RESUME_NOTICE = "resume_notice"
    WITHDRAW_NOTICE = "withdraw_notice"
    TERMINATE = "terminate"
    AMEND = "amend"
    GRANT_CONSENT = "grant_consent"
    REVOKE_CONSENT = "revoke_consent"


NOTICE_ACTS = frozenset(
    {
        EventType.NOTIFY_TERMINATION,
        EventType.SUSPEND_NOTICE,
        EventType.RESUME_NOTICE,
        EventType.WITHDRAW_NOTICE,
    }
)
CONSENT_ACTS = frozenset({EventType.GRANT_CONSENT, EventType.REVOKE_CONSENT})


@dataclass(frozen=True, slots=True)
class Event:
    """One event; `index` is its place in the file, which orders events at the same instant."""

    index: int
    type: EventType
    at: datetime
    id: str | None = None
    agreement: str | None = None
    by: str | None = None
    report: str | None = None
    to: str | None = None
    arrangement: str | None = None
    until: datetime | None = None
    # amend: the raw `set` table, already validated by the world loader
    changes: dict[str, Any] | None = None

    @property
    def path(self) -> str:
        """Where the event stands in the world file."""
        return f"events[{self.index}]"

    @property
    def name(self) -> str:
        """How a person refers to it: its id, or its type and place."""
        return self.id or f"{self.type} at {self.path}"


def in_order(events: list[Event]) -> list[Event]:
    """world-format.md: events apply in order of `at`; equal instants apply in file order."""
    return sorted(events, key=lambda event: (event.at, event.index))
