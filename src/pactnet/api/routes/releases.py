"""The API of onward release and of the consent inbox: a consent permits, a user releases.

No `from __future__ import annotations` here: FastAPI reads the annotations of the routes at run time.
"""

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pactnet.api import notice_schemas, schemas
from pactnet.api.auth import InboxViewer, Releaser
from pactnet.api.routes.paths import ListingLimit, ReportId, creating
from pactnet.services import consent_inbox, releases
from pactnet.services.context import Node

AskedBy = Literal["recipients", "consent-request", "release", "version"]


class ReleaseIn(schemas.Strict):
    """A user's onward release of a report this node holds to a party."""

    to: schemas.Code = Field(description="The party to release the report to: neither this party nor its originator.")


class ReleaseOut(BaseModel):
    """The release, decided like any transfer: allowed (and queued as `envelope`) or refused with its reasons."""

    report: str
    at: str
    asked_by: AskedBy
    envelope: str | None = Field(description="The transfer queued for the dispatcher; null when refused.")
    to: str
    allowed: bool
    route: list[str]
    legs: list[schemas.Leg]
    marking: schemas.Marking | None
    reasons: list[schemas.Reason]
    notes: list[schemas.Reason]


class ConsentEntry(BaseModel):
    """A consent of an originator about an item held here: granted by this party, or received from its originator."""

    id: str
    direction: Literal["granted", "received"]
    report_id: str
    title: str
    originator: str
    origin_id: str
    to: str | None
    arrangement: str | None
    at: str
    until: str | None
    request: str | None = Field(description="The consent request of this node it answered (acted on), if any.")
    statement: notice_schemas.ConsentOut


def install(routes: APIRouter, node: Node) -> None:
    """Add the release and consent inbox routes of this node."""

    def release(report_id: ReportId, body: ReleaseIn, who: Releaser) -> dict[str, Any]:
        """Release a held report onward to a party: decided now like any transfer, and sent if allowed.

        201 with the decision either way (a refusal lists its reasons, as a publication's decisions do); 404 for a
        report the user may not see, 422 for a party that is not another one or is the originator, 409 when the
        report is on its way to that party, or was delivered there, already.
        """
        return releases.release_report(node, who, report_id, body.to)

    def inbox(who: InboxViewer, limit: ListingLimit = 100) -> list[dict[str, Any]]:
        """The consents about items held here that the user may see, newest first (the consent inbox)."""
        return consent_inbox.list_consents(node, who, limit)

    creating(routes, "/api/v1/reports/{report_id}/releases", "consent", ReleaseOut)(release)
    routes.get("/api/v1/consents", response_model=list[ConsentEntry], tags=["consent"])(inbox)
