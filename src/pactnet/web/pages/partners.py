"""The partners: each one's health, as an operator asks "is a partner unreachable?".

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Queue depths count items of every level, so the page needs `manage-partners` (an admin's duty), not a reader's.
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.services.partner_health import PartnerHealth, partner_health
from pactnet.web.guard import PartnerManager
from pactnet.web.templating import Pages


def verdict(health: PartnerHealth) -> str:
    """The partner's state in a word or two, as the page's first column says it."""
    if health.url is None:
        return "not trusted"
    if health.last_failure is not None:
        return "failing"
    if health.queued:
        return "sending"
    return "healthy"


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the partners page."""

    @routes.get("/ui/partners", include_in_schema=False)
    def partners(request: Request, session: PartnerManager) -> Response:
        """Every other party: trusted or not, its queue, its last delivery, its last failure and why."""
        rows = [(health, verdict(health)) for health in partner_health(pages.node)]
        return pages.render(request, "partners.html", session, {"rows": rows})
