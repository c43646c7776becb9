"""The collections resources (TAXII 2.1 §5.1, §5.2): the node's collections, as services.stix_collections has them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pactnet.services.stix_collections import collection, collections
from pactnet.taxii.media import STIX, check_accept, taxii_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from pactnet.services.context import Node
    from pactnet.services.stix_collections import Collection
    from pactnet.services.users import User


def resource(one: Collection) -> dict[str, Any]:
    """A collection resource (TAXII 2.1 §5.2.1)."""
    return {
        "id": one.id,
        "title": one.title,
        "description": one.description,
        "can_read": one.can_read,
        "can_write": one.can_write,
        "media_types": [STIX],
    }


def list_collections(node: Node, request: Request, _user: User) -> Response:
    """Every collection of the node (the same for every user: what each holds for a user is filtered on read)."""
    check_accept(request.headers.get("accept"))
    return taxii_response({"collections": [resource(one) for one in collections(node)]})


def get_collection(node: Node, request: Request, _user: User, collection_id: str) -> Response:
    """One collection, by id."""
    check_accept(request.headers.get("accept"))
    return taxii_response(resource(collection(node, collection_id)))
