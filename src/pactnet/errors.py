"""The exception tree of pactnet.

PactnetError
 ├── WorldError     a world file that cannot be loaded; carries every issue found
 └── PolicyError    a question the policy core cannot answer (an unknown report, party or agreement)
"""

from __future__ import annotations

from dataclasses import dataclass


class PactnetError(Exception):
    """Root of every error pactnet raises on purpose."""


@dataclass(frozen=True, slots=True)
class WorldIssue:
    """One problem in a world file: where it is, what was found there, and what was expected."""

    path: str
    found: str
    expected: str

    def __str__(self) -> str:
        return f"{self.path}: found {self.found}; expected {self.expected}"


class WorldError(PactnetError):
    """A world file is invalid; `issues` lists every problem, not only the first."""

    def __init__(self, source: str, issues: list[WorldIssue]) -> None:
        self.source = source
        self.issues = issues
        count = len(issues)
        super().__init__(f"{source}: {count} error{'s' if count != 1 else ''} in the world")


class PolicyError(PactnetError):
    """The core was asked about something the world does not contain."""
