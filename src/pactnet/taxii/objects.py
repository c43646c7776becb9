"""The objects, object, versions and manifest resources (TAXII 2.1 §5.3 to §5.8), and posting an envelope.

A page's body is put together from the objects' stored JSON text as it is (services.stix_index keeps each
object as served), never parsed and written again, so reading costs little more than the index range it is.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pactnet.services.stix_collections import collection
from pactnet.services.stix_envelopes import add_objects
from pactnet.services.stix_objects import read_object, read_page
from pactnet.taxii.errors import TaxiiError
from pactnet.taxii.filters import read_listing
from pactnet.taxii.media import STIX, TAXII, check_accept, check_content_type, taxii_response

if TYPE_CHECKING:
    from starlette.requests import Request

    from pactnet.services.context import Node
    from pactnet.services.stix_objects import Page
    from pactnet.services.users import User

# The parameters of an object's resource and of its versions (TAXII 2.1 §5.6, §5.8): no id or type filter there.
_ONE_OBJECT = ("added_after", "limit", "next", "match[version]", "match[spec_version]")
_VERSIONS = ("added_after", "limit", "next", "match[spec_version]")


def _headers(page: Page) -> dict[str, str]:
    """X-TAXII-Date-Added-First and -Last (TAXII 2.1 §3.3.1), of the objects this page returns."""
    if page.first_added is None or page.last_added is None:
        return {}
    return {"X-TAXII-Date-Added-First": page.first_added, "X-TAXII-Date-Added-Last": page.last_added}


def _head(page: Page) -> dict[str, Any]:
    head: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        head["next"] = page.next
    return head


def _envelope(page: Page) -> Response:
    """The envelope of a page (TAXII 2.1 §3.7), its objects' stored text joined as they are."""
    head = json.dumps(_head(page))
    if page.rows:
        head = head[:-1] + ',"objects":[' + ",".join(row.object for row in page.rows) + "]}"
    return Response(head, media_type=TAXII, headers=_headers(page))


def get_objects(node: Node, request: Request, user: User, collection_id: str) -> Response:
    """A page of the collection's objects the user may read."""
    check_accept(request.headers.get("accept"))
    listing = read_listing(request.query_params, node.config)
    found = collection(node, collection_id)
    return _envelope(read_page(node, user, found, listing.filter, listing.next, listing.limit, "objects"))


def get_object(node: Node, request: Request, user: User, collection_id: str, object_id: str) -> Response:
    """An object's versions the filter keeps (the last by default); 404 if the user may read none."""
    check_accept(request.headers.get("accept"))
    listing = read_listing(request.query_params, node.config, allowed=_ONE_OBJECT)
    wanted = replace(listing.filter, ids=(object_id[:300],))
    page = read_object(node, user, collection(node, collection_id), wanted, listing.next, listing.limit)
    return _envelope(page)


def get_versions(node: Node, request: Request, user: User, collection_id: str, object_id: str) -> Response:
    """The versions of an object the user may read (TAXII 2.1 §5.8), oldest added first."""
    check_accept(request.headers.get("accept"))
    listing = read_listing(request.query_params, node.config, allowed=_VERSIONS)
    wanted = replace(listing.filter, ids=(object_id[:300],), versions=("all",))
    page = read_object(node, user, collection(node, collection_id), wanted, listing.next, listing.limit)
    body = _head(page) | {"versions": [row.version for row in page.rows]}
    return taxii_response(body, headers=_headers(page))


def get_manifest(node: Node, request: Request, user: User, collection_id: str) -> Response:
    """The manifest (TAXII 2.1 §5.3): what the objects page would return, without the objects."""
    check_accept(request.headers.get("accept"))
    listing = read_listing(request.query_params, node.config)
    found = collection(node, collection_id)
    page = read_page(node, user, found, listing.filter, listing.next, listing.limit, "manifest")
    entries = [
        {"id": row.stix_id, "date_added": row.date_added, "version": row.version, "media_type": STIX}
        for row in page.rows
    ]
    body = _head(page) | ({"objects": entries} if entries else {})
    return taxii_response(body, headers=_headers(page))


def _no_constant(name: str) -> NoReturn:
    # Python's parser reads NaN and Infinity; stored, they would be served as text no JSON parser reads back.
    message = f"{name} is not a JSON number"
    raise ValueError(message)


def _objects_of(body: bytes) -> list[Any]:
    """The objects of a posted envelope; 400 for a body that is not JSON, 422 for JSON that is no envelope."""
    try:
        envelope = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise TaxiiError(400, "Bad Request", f"the body is not JSON: {error}"[:300]) from error
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise TaxiiError(422, "Unprocessable Entity", 'expected an envelope: {"objects": [STIX 2.1 objects]}')
    if not envelope["objects"]:
        raise TaxiiError(422, "Unprocessable Entity", "the envelope holds no objects")
    return list(envelope["objects"])


async def post_objects(node: Node, request: Request, user: User, collection_id: str) -> Response:
    """Publish the envelope's objects: 202 and the status resource (TAXII 2.1 §5.5), complete when answered."""
    check_accept(request.headers.get("accept"))
    check_content_type(request.headers.get("content-type"))
    objects = _objects_of(await request.body())
    found = collection(node, collection_id)
    status = await run_in_threadpool(add_objects, node, user, found, objects)
    return taxii_response(status, status=202)


def delete_object(node: Node, request: Request, _user: User, collection_id: str, object_id: str) -> Response:
    """Deleting is refused: a published object is revoked, so that every holder learns of it (docs/taxii.md)."""
    check_accept(request.headers.get("accept"))
    found = collection(node, collection_id)
    where = "read only" if not found.can_write else "the one to publish to, whose objects are reports shared"
    raise TaxiiError(
        403,
        "Forbidden",
        f"{object_id[:120]} is not deleted: the collection {found.title!r} is {where}; to withdraw an object, post "
        'a new version of it with "revoked": true, which travels to every party that holds it',
    )
