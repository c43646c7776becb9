"""Server discovery and the API root (TAXII 2.1 §4.1, §4.2): where the node's one API root is, and its limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pactnet.taxii.errors import PREFIX
from pactnet.taxii.media import TAXII, check_accept, taxii_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from pactnet.services.context import Node
    from pactnet.services.users import User

# The node's one API root, under the discovery resource.
API_ROOT = "api/"


def api_root_url(request: Request) -> str:
    """The API root's URL as the node is served at: scheme, host and port of the request (TAXII 2.1 §4.1)."""
    return f"{str(request.base_url).rstrip('/')}{PREFIX}{API_ROOT}"


def discovery(node: Node, request: Request) -> Response:
    """The discovery resource: public, so that a client finds the API root before it has credentials."""
    check_accept(request.headers.get("accept"))
    url = api_root_url(request)
    return taxii_response(
        {
            "title": f"pactnet node of {node.party}",
            "description": "STIX 2.1 objects shared under the agreements in force (docs/taxii.md)",
            "default": url,
            "api_roots": [url],
        }
    )


def api_root(node: Node, request: Request, _user: User) -> Response:
    """The API root: its versions and the largest body a post may have (max_content_length, TAXII 2.1 §4.2)."""
    check_accept(request.headers.get("accept"))
    return taxii_response(
        {
            "title": f"{node.party} objects",
            "description": "One collection to publish to, and collections of what the node holds (docs/taxii.md)",
            "versions": [TAXII],
            "max_content_length": node.config.max_body_bytes,
        }
    )
