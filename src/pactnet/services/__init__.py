"""The service layer: what a node does for its users, over the core, the store and the audit log.

ServiceError        (a PactnetError)
 ├── InvalidInputError   the request names something that does not exist or makes no sense (422)
 ├── NotFoundError       no such thing, or the user may not know it exists (404)
 ├── ForbiddenError      the user is known but may not do this (403)
 └── ConflictError       the request clashes with what is stored (409)
"""

from __future__ import annotations

from typing import Any

from pactnet.errors import PactnetError


class ServiceError(PactnetError):
    """A request the node refuses; `details` says precisely what was wrong."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


class InvalidInputError(ServiceError):
    """The request names something that does not exist or makes no sense."""


class NotFoundError(ServiceError):
    """No such thing, or nothing the user is cleared to know of."""


class ForbiddenError(ServiceError):
    """The user may not do this."""


class ConflictError(ServiceError):
    """The request clashes with what is stored."""
