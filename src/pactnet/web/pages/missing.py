"""Any other path under `/ui/`: a page that says so, for a signed-in user (others are asked to sign in first).

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Installed last, after the static files, so that it only answers what nothing else does.
"""

from fastapi import APIRouter

from pactnet.web.guard import AgreementViewer, PageRefusedError
from pactnet.web.templating import Pages


def install(routes: APIRouter, _pages: Pages) -> None:
    """Add the catch-all route."""

    @routes.get("/ui/{rest:path}", include_in_schema=False)
    def missing(rest: str, _session: AgreementViewer) -> None:
        """404, as a page of the console rather than the API's JSON."""
        raise PageRefusedError(404, f"The console has no page /ui/{rest[:200]}.")
