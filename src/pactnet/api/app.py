"""The node's HTTP API: `/api/v1` for users, `/federation/v1` for partners, `/taxii2/` for TAXII clients.

Each resource's routes are in `api.routes`; this module puts them together with the middleware and the error
handlers, and runs the dispatcher beside the API when asked to.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from pactnet.api import errors, events, schemas
from pactnet.api.limits import BodyLimit
from pactnet.api.priority import UrgentFirst
from pactnet.api.routes import agreements, audit, consent, federation, releases, reports
from pactnet.federation.client import request_limit
from pactnet.federation.service import DispatcherService
from pactnet.services import users
from pactnet.taxii import routes as taxii
from pactnet.web import console

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pactnet.services.context import Node

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorOut, "description": description}
    for status, description in (
        (400, "Not a request this node can read (a body that is not JSON, for one)"),
        (401, "No valid bearer token"),
        (403, "None of the user's roles carries the duty this needs"),
        (404, "Not found, or not cleared"),
        (409, "In conflict with the current state"),
        (408, "The request's body did not arrive within the node's deadline"),
        (413, "Request body too large"),
        (422, "Invalid input"),
        (
            503,
            (
                "Too many requests from this client at once, or the node's database is out of reach or out of space"
                " (nothing was written); retry after Retry-After"
            ),
        ),
    )
}


def _is_user(node: Node, token: str) -> bool:
    return users.authenticate(node, token) is not None


def create_app(node: Node, *, dispatch: bool = False) -> FastAPI:
    """The API of one node; with `dispatch`, the dispatcher sends its outbox while the API runs."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service = DispatcherService(node)
        if dispatch:
            service.start()
        yield
        service.stop()
        # Close the database on shutdown, so SQLite folds its write-ahead log into node.db before the
        # process exits (uvicorn ends the process by a signal right after a graceful shutdown).
        node.close()

    app = FastAPI(
        lifespan=lifespan,
        title=f"pactnet node ({node.party})",
        version="1",
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    app.state.node = node
    limit = node.config.max_body_bytes
    # Inner first: a request is urgent work only once BodyLimit has read all of it and its token is valid.
    app.add_middleware(UrgentFirst, urgency=node.uow.urgency, authenticated=partial(_is_user, node))
    timeout = node.config.request_timeout_ms / 1000
    app.add_middleware(BodyLimit, limit=limit, federation_limit=request_limit(limit), timeout=timeout)
    errors.install(app)

    @app.get("/api/v1/health", response_model=schemas.Health, tags=["node"])
    def health() -> dict[str, str]:
        """Whether the node is up; the only route that needs no token."""
        return {"status": "ok", "party": node.party}

    # Added to the app's own router, not included as routers of their own: this FastAPI keeps an included
    # router as one entry of `app.routes`, and the duty check (tests/integration/test_roles.py) walks the routes.
    for resource in (reports, agreements, audit, consent, releases, federation):
        resource.install(app.router, node)
    events.add_routes(app, node)
    taxii.install(app.router, node)
    # The console: pages for people at /ui/, on the same users, duties and clearance as the API.
    console.install(app, node)
    return app
