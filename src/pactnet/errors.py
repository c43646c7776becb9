"""The exception tree of pactnet: every error raised on purpose is a PactnetError, mapped to HTTP once (api/errors.py).

PactnetError
 ├── WorldError        a world file that cannot be loaded; carries every issue found
 ├── PolicyError       a question the policy core cannot answer (an unknown report, party or agreement)
 ├── PayloadError      a partner's payload this node cannot read; `code` is the refusal's stable code (422)
 │    ├── FieldError        a notice's field missing or not right (services.notices)
 │    └── StatementError    a consent statement that is not valid (services.consents)
 ├── ServiceError      a request the node refuses, with `details` (services: InvalidInput 422, NotFound 404,
 │                     Forbidden 403, Conflict 409; api.errors.UnauthorizedError 401)
 ├── EnvelopeError     an envelope that cannot be verified or opened (crypto.envelope)
 ├── ConfigError, StoreError, KeyFileError, IdentityError, TlsError, PartnerError, AuditTrustError, ExportError,
 │   NodeError, ServingError, ...   what an adapter cannot read, reach or build, each named for its area
 └── ClientError       what `pactnet remote` cannot do at a node (pactnet.client)

Outside the tree on purpose: `store.writer.GiveWayError` (control flow inside the group committer, never
surfaced) and `json_bounds.JsonBoundsError` (a ValueError, as Pydantic validators require).
"""

from __future__ import annotations

from dataclasses import dataclass


class PactnetError(Exception):
    """Root of every error pactnet raises on purpose."""

    @property
    def message(self) -> str:
        """What is wrong, in the words the error was raised with (what a refusal shows or sends)."""
        return str(self)


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


class PayloadError(PactnetError):
    """A payload from a partner that this node cannot read; `code` is the reason's stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
