"""`/api/v1/audit`: the audit log's entries, and the verification of the whole log."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pactnet.api import schemas
from pactnet.api.auth import AuditReader
from pactnet.services import audit
from pactnet.services.context import Node


def install(routes: APIRouter, node: Node) -> None:
    """Add the audit route of this node."""

    @routes.get("/api/v1/audit", tags=["audit"], response_model=schemas.AuditPage)
    def audit_log(
        who: AuditReader,
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        verify: Annotated[bool, Query(description="Verify the whole log (reads every entry).")] = True,
    ) -> dict[str, Any]:
        """Audit entries after a sequence number, and the verification of the whole log."""
        return audit.page(node, who, after, limit, with_verification=verify)
