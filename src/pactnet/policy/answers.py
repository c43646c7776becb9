"""The answers of the policy core to a transfer question: reason codes, reasons, legs, markings, decisions.

The values built on every decision are named tuples: immutable like frozen dataclasses, at a third of the cost
to build.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple


class Code(StrEnum):
    """The stable codes of refusal reasons; documented in docs/reasons.md."""

    REPORT_NOT_CREATED = "report-not-created"
    SAME_PARTY = "same-party"
    NOT_IN_REL_TO = "not-in-rel-to"
    NO_HOLDER_AGREEMENT = "no-holder-agreement"
    HOLDER_LEVEL_UNMAPPED = "holder-level-unmapped"
    ONWARD_RELEASE_FORBIDDEN = "onward-release-forbidden"
    NO_ORIGINATOR_CONSENT = "no-originator-consent"
    NO_AGREEMENT = "no-agreement"
    AGREEMENT_NOT_IN_FORCE = "agreement-not-in-force"
    OUT_OF_SCOPE = "out-of-scope"
    NO_EQUIVALENT_LEVEL = "no-equivalent-level"
    NO_ARRANGEMENT = "no-arrangement"
    ARRANGEMENT_NOT_IN_FORCE = "arrangement-not-in-force"
    OUT_OF_ARRANGEMENT_SCOPE = "out-of-arrangement-scope"
    NO_LEG_AGREEMENT = "no-leg-agreement"
    NO_RELAY_CONSENT = "no-relay-consent"


class Reason(NamedTuple):
    """One rule that failed."""

    code: Code
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"code": self.code.value, "message": self.message}


class Leg(NamedTuple):
    """One hop of a route: the agreement it travels under and the level it is marked with on arrival."""

    sender: str
    receiver: str
    under: str
    level: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready, with the keys `from`, `to`, `under`, `level`."""
        return {"from": self.sender, "to": self.receiver, "under": self.under, "level": self.level}


class Marking(NamedTuple):
    """GSOMIA art. 4(2): the receiver marks an item with the originator's name and its own equivalent level."""

    originator: str
    level: str


class Decision(NamedTuple):
    """The answer to one transfer question; `notes` say why a preferred route was not taken."""

    allowed: bool
    route: tuple[str, ...] = ()
    legs: tuple[Leg, ...] = ()
    marking: Marking | None = None
    reasons: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()

    @property
    def hub(self) -> str | None:
        """The party in the middle of a relayed route."""
        return self.route[1] if len(self.route) == 3 else None  # noqa: PLR2004 - holder, hub, recipient

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the shape `pactnet decide --json` prints."""
        marking = self.marking
        return {
            "allowed": self.allowed,
            "route": list(self.route),
            "legs": [leg.as_dict() for leg in self.legs],
            "marking": None if marking is None else {"originator": marking.originator, "level": marking.level},
            "reasons": [reason.as_dict() for reason in self.reasons],
            "notes": [note.as_dict() for note in self.notes],
        }
