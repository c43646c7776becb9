"""Precedence: how urgently a report or notice must travel (ACP 121: flash, immediate, priority, routine)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Precedence(StrEnum):
    """A report's precedence, most urgent first; its rank orders the outbox (0 goes first)."""

    FLASH = "flash"
    IMMEDIATE = "immediate"
    PRIORITY = "priority"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        """Its place in the order, 0 (flash) to 3 (routine): the outbox's `rank` and RFC 9218's urgency alike."""
        return _RANKS[self.value]

    @property
    def is_urgent(self) -> bool:
        """Whether it goes with urgent traffic (its own dispatcher lane, the writer's first turn)."""
        return self.rank <= URGENT_RANK


# The same four names as the type of an API field (an enum there would change the published OpenAPI schema);
# tests/unit/test_conventions.py pins that the two agree.
PrecedenceName = Literal["flash", "immediate", "priority", "routine"]
# Their names, most urgent first, for a message that lists them.
NAMES = tuple(precedence.value for precedence in Precedence)
_RANKS = {precedence.value: rank for rank, precedence in enumerate(Precedence)}
# The dispatcher's urgent lane takes ranks up to this one only, so that they never wait behind routine items.
URGENT_RANK = _RANKS[Precedence.IMMEDIATE]
# Notices that are not reports (lifecycle acts, consents, consent requests) go with immediate traffic.
NOTICE_RANK = _RANKS[Precedence.IMMEDIATE]


def rank_of(precedence: str) -> int:
    """The rank of a precedence named in stored or received data; routine's for a name that is none."""
    return _RANKS.get(precedence, _RANKS[Precedence.ROUTINE])


def is_urgent(precedence: str) -> bool:
    """Whether a report of this precedence goes with the urgent traffic (its own lane, the writer's first turn)."""
    return rank_of(precedence) <= URGENT_RANK
