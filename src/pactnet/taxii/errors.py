"""The TAXII error resource (TAXII 2.1 §3.6.1): every refusal on a TAXII route, in one shape.

`{"title", "description", "http_status", "error_code"?, "details"?}` with the TAXII media type. Refusals of the
use cases (services.ServiceError) are mapped once here, as api/errors.py maps them for the API; validation and
HTTP errors (unknown path, wrong method) as well, so a TAXII client never sees the API's shape.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response

from pactnet.errors import PactnetError
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, ServiceError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping

    from starlette.requests import Request

PREFIX = "/taxii2/"
_MEDIA = "application/taxii+json;version=2.1"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    503: "Service Unavailable",
}
# TAXII 2.1 §3.6.1 draws 400 for a bad filter or `next`, 422 for a body the server cannot process.
_STATUS: dict[type[ServiceError], int] = {
    InvalidInputError: 400,
    NotFoundError: 404,
    ForbiddenError: 403,
    ConflictError: 400,
}


class TaxiiError(PactnetError):
    """A refusal on a TAXII route, with its HTTP status and the TAXII error resource's fields."""

    def __init__(
        self,
        status: int,
        title: str,
        description: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.title = title
        self.description = description
        self.details = details
        self.headers = dict(headers or {})


def error_resource(status: int, description: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The TAXII error resource of a refusal."""
    resource: dict[str, Any] = {
        "title": _TITLES.get(status, "Error"),
        "description": description,
        "http_status": str(status),
    }
    if details:
        resource["details"] = details
    return resource


def error_response(error: TaxiiError) -> Response:
    """A refusal as a response, in the TAXII media type."""
    resource = error_resource(error.status, error.description, error.details) | {"title": error.title}
    body = json.dumps(resource, ensure_ascii=False)
    return Response(body, status_code=error.status, media_type=_MEDIA, headers=error.headers or None)


def _refusal(error: Exception) -> TaxiiError:
    """The TAXII refusal of whatever a route raised."""
    if isinstance(error, TaxiiError):
        return error
    if isinstance(error, ServiceError):
        status = next((_STATUS[kind] for kind in type(error).__mro__ if kind in _STATUS), 400)
        details = {"problems": error.details} if error.details else None
        return TaxiiError(status, _TITLES[status], error.message, details)
    if isinstance(error, RequestValidationError):
        problems = [
            f"{'.'.join(str(part) for part in item.get('loc', ())[1:])}: {item.get('msg')}" for item in error.errors()
        ]
        return TaxiiError(400, _TITLES[400], "the request is not valid: " + "; ".join(problems[:5]))
    if isinstance(error, HTTPException):
        return TaxiiError(
            error.status_code, _TITLES.get(error.status_code, "Error"), str(error.detail), None, error.headers
        )
    return TaxiiError(400, _TITLES[400], str(error))


class TaxiiRoute(APIRoute):
    """A route of the TAXII server: whatever it refuses is answered with the TAXII error resource."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, its refusals mapped to TAXII."""
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except (PactnetError, RequestValidationError, HTTPException) as error:
                return error_response(_refusal(error))

        return answer


def http_error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """An HTTP error outside any route (unknown path, wrong method, a body too large), as TAXII answers it."""
    return error_response(TaxiiError(status, _TITLES.get(status, "Error"), message, None, headers))
