"""A report: its content (only if the user is cleared), its marking, and its decision trail with the receipts.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
The three reads are those of `GET /api/v1/reports/{id}`, `/decisions` and `/deliveries`: a report the user may
not read is not found, exactly as a missing one (no title, no count), and every read is audited.
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.services import ServiceError, outbox_view, report_reading
from pactnet.web.guard import Reader, refused
from pactnet.web.templating import Pages

_LONGEST_ID = 200


def trail(decisions: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each decision with what became of its envelope (the transfer this node sent for it), newest last."""
    transfers = [one for one in sent if one["kind"] == "transfer"]
    shown = []
    for decision in decisions:
        legs = decision["legs"]
        first_hop = legs[0]["to"] if legs else None
        delivery = next((one for one in transfers if one["final"] == decision["to"] and one["to"] == first_hop), None)
        shown.append(decision | {"delivery": delivery})
    return shown


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the report page."""

    @routes.get("/ui/reports/{report_id}", include_in_schema=False)
    def report(request: Request, report_id: str, session: Reader) -> Response:
        """The report as the user may see it, and for each partner: allowed or refused, why, the legs, receipts."""
        node, user, wanted = pages.node, session.user, report_id[:_LONGEST_ID]
        try:
            shown = report_reading.get_report(node, user, wanted)
            decisions = report_reading.decision_trail(node, user, wanted)
            sent = outbox_view.deliveries(node, user, wanted)
        except ServiceError as error:
            raise refused(error) from error
        context = {"report": shown, "trail": trail(decisions, sent), "sent": sent}
        return pages.render(request, "report.html", session, context)
