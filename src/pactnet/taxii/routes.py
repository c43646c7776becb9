"""The TAXII server's routes under `/taxii2/`, each a thin call of its resource's module (TAXII 2.1 §4, §5).

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
"""

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Path, Request
from starlette.responses import Response

from pactnet.taxii import collections, discovery, objects, status
from pactnet.taxii.auth import Publisher, Reader
from pactnet.taxii.errors import PREFIX, TaxiiRoute

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import APIRouter

    from pactnet.services.context import Node
    from pactnet.services.users import User

    CollectionRead = Callable[[Node, Request, User, str], Response]

Endpoint = TypeVar("Endpoint", bound="Callable[..., Any]")
ROOT = f"{PREFIX}{discovery.API_ROOT}"
CollectionId = Annotated[str, Path(max_length=64)]
ObjectId = Annotated[str, Path(max_length=300)]
StatusId = Annotated[str, Path(max_length=64)]


def _route(routes: "APIRouter", method: str, path: str, name: str | None = None) -> "Callable[[Endpoint], Endpoint]":
    """Add a TAXII route, whose refusals are TAXII error resources (named for its endpoint unless `name` is given).

    Outside the API's OpenAPI document: TAXII's resources are specified by OASIS, in their own media type.
    """

    def add(endpoint: Endpoint) -> Endpoint:
        routes.add_api_route(
            path,
            endpoint,
            name=name,
            methods=[method],
            route_class_override=TaxiiRoute,
            include_in_schema=False,
            response_class=Response,
        )
        return endpoint

    return add


def install(routes: "APIRouter", node: "Node") -> None:
    """Add the TAXII server's routes to the node's application."""

    @_route(routes, "GET", PREFIX)
    def get_discovery(request: Request) -> Response:
        return discovery.discovery(node, request)

    @_route(routes, "GET", ROOT)
    def get_api_root(request: Request, user: Reader) -> Response:
        return discovery.api_root(node, request, user)

    @_route(routes, "GET", f"{ROOT}collections/")
    def get_collections(request: Request, user: Reader) -> Response:
        return collections.list_collections(node, request, user)

    collection = f"{ROOT}collections/{{collection_id}}/"
    # What a reader GETs of one collection: the collection itself, a page of its objects, and their manifest.
    for path, read in (
        (collection, collections.get_collection),
        (f"{collection}objects/", objects.get_objects),
        (f"{collection}manifest/", objects.get_manifest),
    ):
        _collection_read(routes, node, path, read)

    @_route(routes, "POST", f"{ROOT}collections/{{collection_id}}/objects/")
    async def post_objects(request: Request, user: Publisher, collection_id: CollectionId) -> Response:
        return await objects.post_objects(node, request, user, collection_id)

    @_route(routes, "GET", f"{ROOT}collections/{{collection_id}}/objects/{{object_id}}/")
    def get_object(request: Request, user: Reader, collection_id: CollectionId, object_id: ObjectId) -> Response:
        return objects.get_object(node, request, user, collection_id, object_id)

    @_route(routes, "DELETE", f"{ROOT}collections/{{collection_id}}/objects/{{object_id}}/")
    def delete_object(request: Request, user: Publisher, collection_id: CollectionId, object_id: ObjectId) -> Response:
        return objects.delete_object(node, request, user, collection_id, object_id)

    @_route(routes, "GET", f"{ROOT}collections/{{collection_id}}/objects/{{object_id}}/versions/")
    def get_versions(request: Request, user: Reader, collection_id: CollectionId, object_id: ObjectId) -> Response:
        return objects.get_versions(node, request, user, collection_id, object_id)

    @_route(routes, "GET", f"{ROOT}status/{{status_id}}/")
    def get_status(request: Request, user: Publisher, status_id: StatusId) -> Response:
        return status.status(node, request, user, status_id)


def _collection_read(routes: "APIRouter", node: "Node", path: str, read: "CollectionRead") -> None:
    """Add a reader's GET of `path`, answered by `read` and named after it."""

    def endpoint(request: Request, user: Reader, collection_id: CollectionId) -> Response:
        return read(node, request, user, collection_id)

    _route(routes, "GET", path, read.__name__)(endpoint)
