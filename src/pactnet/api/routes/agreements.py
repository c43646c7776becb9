"""`/api/v1/agreements`: the agreements and arrangements, their status now, and this party's lifecycle acts."""

from typing import Any

from fastapi import APIRouter

from pactnet.api import schemas
from pactnet.api.auth import ActRecorder, AgreementViewer
from pactnet.api.routes.paths import PactId, creating
from pactnet.services import agreements
from pactnet.services.context import Node


def install(routes: APIRouter, node: Node) -> None:
    """Add the agreements routes of this node."""

    @routes.get("/api/v1/agreements", tags=["agreements"], response_model=list[schemas.AgreementOut])
    def list_agreements(_who: AgreementViewer) -> list[dict[str, Any]]:
        """Every agreement and arrangement, with its status now."""
        return agreements.list_agreements(node)

    @routes.get("/api/v1/agreements/{pact_id}", tags=["agreements"], response_model=schemas.AgreementOut)
    def get_agreement(pact_id: PactId, _who: AgreementViewer) -> dict[str, Any]:
        """One agreement: its status now and its timeline."""
        return agreements.get_agreement(node, pact_id)

    @creating(routes, "/api/v1/agreements/{pact_id}/events", "agreements", schemas.AgreementOut)
    def record_act(pact_id: PactId, body: schemas.ActRequest, who: ActRecorder) -> dict[str, Any]:
        """Record a lifecycle act by this party (notice, suspension, resumption, withdrawal), effective now."""
        return agreements.record_act(node, who, pact_id, body.type)
