"""The console put together: its pages on the node's app under `/ui/`, its static files, its error pages."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from starlette.staticfiles import StaticFiles

from pactnet.web.guard import PageRefusedError, SignInNeededError, session_of
from pactnet.web.pages import (
    acts,
    agreements,
    audit,
    inboxes,
    missing,
    partners,
    publish,
    report,
    sign_in,
    traffic,
    what_if,
)
from pactnet.web.templating import Pages

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

    from pactnet.services.context import Node

# Each page module's `install(routes, pages)`; a new page adds its module here.
PAGES = (sign_in, agreements, acts, what_if, traffic, report, publish, inboxes, partners, audit)


def install(app: FastAPI, node: Node) -> None:
    """Add the console's routes to the node's app (to its own router, so the duty check can walk them)."""
    pages = Pages(node)
    for page in PAGES:
        page.install(app.router, pages)
    static = files("pactnet.web") / "static"
    app.mount("/ui/static", StaticFiles(directory=str(static)), name="console-static")
    missing.install(app.router, pages)  # last: only what no page nor static file answers

    @app.exception_handler(SignInNeededError)
    async def sign_in_first(_request: Request, _error: SignInNeededError) -> Response:
        return sign_in.see_other("/ui/sign-in")

    @app.exception_handler(PageRefusedError)
    async def refused(request: Request, error: PageRefusedError) -> Response:
        context = {"status": error.status, "message": error.message}
        return pages.render(request, "refused.html", session_of(request), context, error.status)
