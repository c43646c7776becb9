"""The status resource (TAXII 2.1 §4.3): what became of a post, for the user who made it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pactnet.services.stix_envelopes import get_status
from pactnet.taxii.media import check_accept, taxii_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from pactnet.services.context import Node
    from pactnet.services.users import User


def status(node: Node, request: Request, user: User, status_id: str) -> Response:
    """The status of a post; 404 for another user's, as for one that does not exist."""
    check_accept(request.headers.get("accept"))
    return taxii_response(get_status(node, user, status_id))
