"""Envelopes refused before they are opened: their stable codes, the answer each gets, and what is audited.

Nothing proves who sent such an envelope, so it is answered in the one error shape, never with a signed
envelope (docs/federation.md, "Receiving envelopes"). An unknown sender and a forged signature get one answer
outwardly, `unauthenticated`, so that nobody learns which parties a node trusts by trying names (issue 17,
item 8); the audit log keeps which it was.
"""

from __future__ import annotations

from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, ServiceError

# The stable codes of an envelope refused before it is opened, and the error (its HTTP status) each maps to.
_ERRORS: dict[str, type[ServiceError]] = {
    "unknown-sender": ForbiddenError,
    "bad-signature": ForbiddenError,
    "wrong-recipient": ForbiddenError,
    "stale": ConflictError,
    "id-reused": ConflictError,
    "undecryptable": InvalidInputError,
}


class EnvelopeRefusedError(ServiceError):
    """An envelope that is refused without a signed answer (400 unless a subclass of `_ERRORS` says otherwise)."""


class UnauthenticatedEnvelopeError(ForbiddenError):
    """An envelope from no partner this node trusts, or not signed by the partner it names: 403 `unauthenticated`.

    The two are one answer outwardly, so that nobody learns which parties a node trusts by trying names; `reason`
    keeps which it was, and why, for the audit log.
    """

    def __init__(self, code: str, message: str) -> None:
        outward = "the envelope is not signed by a partner this node trusts"
        super().__init__(outward, [{"code": UNAUTHENTICATED, "message": outward}])
        self.reason = {"code": code, "message": message}


UNAUTHENTICATED = "unauthenticated"


def refuse(code: str, message: str) -> ServiceError:
    """The error an envelope refused unopened is answered with, by its stable code."""
    if code in {"unknown-sender", "bad-signature"}:
        return UnauthenticatedEnvelopeError(code, message)
    kind = _ERRORS.get(code, EnvelopeRefusedError)
    return kind(message, [{"code": code, "message": message}])


def refusal_reason(error: ServiceError) -> dict[str, str]:
    """What the audit log records of an envelope refused unopened: its true code and message."""
    if isinstance(error, UnauthenticatedEnvelopeError):
        return error.reason
    return {"code": str(error.details[0]["code"]) if error.details else "malformed", "message": error.message}
