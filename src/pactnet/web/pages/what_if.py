"""What if an agreement ended at an instant: routes per pair and category as a heat map, and the counts.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.web.guard import AgreementViewer
from pactnet.web.templating import Pages


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the what-if page."""

    @routes.get("/ui/what-if", include_in_schema=False)
    def what_if(request: Request, session: AgreementViewer) -> Response:
        """The form; with an agreement and an instant, the impact."""
        return pages.render(request, "what_if.html", session, {})
