"""`/api/v1/.../consent-requests`: a holder asks an originator for consent; the originator answers."""

from typing import Any

from fastapi import APIRouter

from pactnet.api import notice_schemas
from pactnet.api.auth import ConsentAsker, ConsentGiver, InboxViewer
from pactnet.api.routes.paths import ListingLimit, ReportId, RequestId, creating
from pactnet.services import consent_requests
from pactnet.services.context import Node


def install(routes: APIRouter, node: Node) -> None:
    """Add the consent-request routes of this node."""

    @creating(routes, "/api/v1/reports/{report_id}/consent-requests", "consent", notice_schemas.ConsentRequestOut)
    def request_consent(report_id: ReportId, body: notice_schemas.ConsentAsk, who: ConsentAsker) -> dict[str, Any]:
        """As a holder, ask a received item's originator for consent to release it to a third party.

        The transfer is decided now (refused, for want of consent) and the request is sent to the originator's
        node; 409 when the transfer is allowed already, consent alone would not allow it, or it is asked already.
        """
        return consent_requests.request_consent(node, who, report_id, body.to, body.purpose)

    @routes.get("/api/v1/consent-requests", tags=["consent"], response_model=list[notice_schemas.ConsentRequestOut])
    def list_consent_requests(who: InboxViewer, limit: ListingLimit = 100) -> list[dict[str, Any]]:
        """Consent requests about items the user may see, asked here or of this party, newest first."""
        return consent_requests.list_requests(node, who, limit)

    @routes.post(
        "/api/v1/consent-requests/{request_id}/answer",
        tags=["consent"],
        response_model=notice_schemas.ConsentRequestOut,
    )
    def answer_consent_request(
        request_id: RequestId, body: notice_schemas.ConsentAnswer, who: ConsentGiver
    ) -> dict[str, Any]:
        """As originator, grant a holder's request (a signed consent statement) or refuse it, with a reason."""
        return consent_requests.answer_request(
            node, who, request_id, grant=body.grant, reason=body.reason, until=body.until
        )
