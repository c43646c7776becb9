"""One JSON error shape for every error the API answers: `{"error": {"status", "code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from pactnet.api.schemas import UNION_TAGS
from pactnet.errors import PactnetError, PayloadError
from pactnet.logs import note
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, ServiceError, outage
from pactnet.taxii.errors import PREFIX as TAXII_PREFIX
from pactnet.taxii.errors import http_error_response

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fastapi import FastAPI, Request
    from starlette.responses import Response

log = logging.getLogger(__name__)
# How long a client is asked to wait before it tries again while the database is out of reach or full.
RETRY_AFTER_SECONDS = 1

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "unavailable",
    500: "internal",
}


class UnauthorizedError(ServiceError):
    """No valid bearer token (answered with 401 and the scheme to use, RFC 6750 §3)."""


_STATUS: dict[type[PactnetError], int] = {
    PayloadError: 422,
    UnauthorizedError: 401,
    InvalidInputError: 422,
    NotFoundError: 404,
    ForbiddenError: 403,
    ConflictError: 409,
}


def status_of(error: PactnetError) -> int:
    """The HTTP status an error is answered with: its kind's, the nearest in the tree; 400 for any other."""
    return next((_STATUS[kind] for kind in type(error).__mro__ if kind in _STATUS), 400)


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The one error shape."""
    return {
        "error": {"status": status, "code": _CODES.get(status, "error"), "message": message, "details": details or []}
    }


def error_response(
    status: int, message: str, details: list[dict[str, Any]] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error as a response; 401 says how to authenticate (RFC 6750 §3), 405 what is allowed (RFC 9110 §15.5.6)."""
    sent = dict(headers or {})
    if status == 401:  # noqa: PLR2004 - the status itself
        sent["WWW-Authenticate"] = 'Bearer realm="pactnet"'
    return JSONResponse(error_body(status, message, details), status_code=status, headers=sent or None)


# Pydantic names the member of a union a value failed to match by its type (`constrained-str`, `StixBundle`,
# `function-after[...]`); a user knows the field, not our types.
_TYPE_WORDS = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})
_SHOWN_INPUT = 80


def _is_union_tag(part: object) -> bool:
    if not isinstance(part, str):
        return False
    if part in UNION_TAGS or part in _TYPE_WORDS:
        return True
    return part[:1].isupper() or "[" in part or part.startswith("constrained-")


def _where(location: tuple[Any, ...]) -> str:
    """The field a problem is at, `reports.0.level`: the request part (body, query, path) and type names left out.

    A header is named as it is sent (`Idempotency-Key`), which a type name's capital must not hide.
    """
    if len(location) == 2 and location[0] == "header":  # noqa: PLR2004 - ("header", its name)
        return f"header {location[1]}"
    parts = list(location[1:] if location and location[0] in {"body", "query", "path", "header"} else location)
    return ".".join(str(part) for part in parts if not _is_union_tag(part)) or "body"


def _problem(item: dict[str, Any]) -> str:
    """What was wrong, and what was found when it is a plain value (the user sees what they sent)."""
    message = str(item.get("msg", "invalid"))
    found = item.get("input")
    if item.get("type") == "missing" or not isinstance(found, str | int | float | bool) or found is None:
        return message
    shown = repr(found) if len(repr(found)) <= _SHOWN_INPUT else repr(found)[:_SHOWN_INPUT] + "…"
    return f"{message}; found {shown}"


def install(app: FastAPI) -> None:
    """Map every error to the one shape: validation, HTTP, service and anything unexpected."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"field": _where(tuple(item.get("loc", ()))), "problem": _problem(item)} for item in error.errors()]
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
        return error_response(422, f"the request is not valid: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, error: StarletteHTTPException) -> Response:
        # The exception's headers are part of the answer: 405's Allow names the methods the route takes.
        if request.url.path.startswith(TAXII_PREFIX):  # an unknown TAXII path: TAXII's error resource
            return http_error_response(error.status_code, str(error.detail), error.headers)
        return error_response(error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(ServiceError)
    async def service(_request: Request, error: ServiceError) -> JSONResponse:
        return error_response(status_of(error), error.message, error.details)

    @app.exception_handler(PayloadError)
    async def payload(_request: Request, error: PayloadError) -> JSONResponse:
        return error_response(status_of(error), error.message, [{"code": error.code, "message": error.message}])

    @app.exception_handler(PactnetError)
    async def pactnet(_request: Request, error: PactnetError) -> JSONResponse:
        return error_response(status_of(error), str(error))

    async def unavailable(_request: Request, error: Exception) -> JSONResponse:
        # A condition to wait out, not a defect: one line in the operator's log, no stack trace (services.outage).
        note(log, "database-unavailable", logging.WARNING, full=outage.is_full(error), cause=outage.cause(error))
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return error_response(503, outage.message(error), headers=retry)

    for kind in outage.OUTAGES:
        app.add_exception_handler(kind, unavailable)
