"""`/api/v1/reports`: publish, list and read reports, their decisions and deliveries, consent and compromise.

The publish bodies and the level filter are typed with this node's own levels and partners, so that the published
OpenAPI says exactly what is accepted (`schemas.publish_request`): they are classes built for the node, which is
why their annotations carry a `type: ignore[valid-type]`.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel

from pactnet.api import notice_schemas, schemas
from pactnet.api.auth import CompromiseReporter, ConsentGiver, InboxViewer, Publisher, Reader
from pactnet.api.routes.paths import ListingLimit, ReportId, creating
from pactnet.policy.clock import in_calendar
from pactnet.services import (
    InvalidInputError,
    compromises,
    cursors,
    idempotency,
    outbox_view,
    releases,
    report_reading,
    reports,
)
from pactnet.services.context import Node

# A key as the header carries it: quoted (an RFC 8941 string, as the draft writes it), or bare, and then neither
# beginning with a quote nor beginning or ending with a space, which HTTP would strip.
_KEY_HEADER = r'^(?:"[\x20-\x7e]{1,255}"|[\x21\x23-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?)$'
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=_KEY_HEADER,
        description=(
            "Any 1 to 255 printable ASCII characters, e.g. a UUID (draft-ietf-httpapi-idempotency-key-header). "
            "A retry with the same key and the same request is answered as the first one was, if it was stored, "
            "instead of publishing it twice; the same key with another request is refused (409). Kept a day."
        ),
    ),
]


def install(routes: APIRouter, node: Node) -> None:
    """Add the report routes of this node."""
    _publishing(routes, node)
    _reading(routes, node)
    _holding(routes, node)


def _publishing(routes: APIRouter, node: Node) -> None:
    scheme = node.world.parties[node.party]
    labels = [*scheme.levels, *scheme.aliases]
    partners = [code for code in node.world.parties if code != node.party]
    publish_body = schemas.publish_request(labels, partners)
    batch_body = schemas.publish_batch(publish_body)

    @creating(routes, "/api/v1/reports", "reports", schemas.PublishResponse)
    def publish(body: publish_body, who: Publisher, key: IdempotencyKey = None) -> dict[str, Any]:  # type: ignore[valid-type]  # the node's model
        """Publish a report this party originates; every transfer is decided at this instant."""
        return reports.publish(node, who, _publication(body), _keyed(key, "one", body))

    @creating(routes, "/api/v1/reports/batch", "reports", schemas.PublishBatchResponse)
    def publish_batch(body: batch_body, who: Publisher, key: IdempotencyKey = None) -> dict[str, Any]:  # type: ignore[valid-type]  # the node's model
        """Publish up to 100 reports in one request and one transaction, all or nothing (for feeds)."""
        return {"results": reports.publish_many(node, who, _publications(body), _keyed(key, "batch", body))}


def _keyed(key: str | None, route: str, body: BaseModel) -> idempotency.Idempotency | None:
    """The request's idempotency key (its header checked against _KEY_HEADER), if it has one, unquoted."""
    if key is None:
        return None
    bare = key[1:-1] if key.startswith('"') else key
    return idempotency.Idempotency.of(bare, {"route": route, "request": body.model_dump(mode="json")})


def _reading(routes: APIRouter, node: Node) -> None:
    scheme = node.world.parties[node.party]
    level_filter = Literal[(*scheme.levels, *scheme.aliases)]  # type: ignore[valid-type]  # the node's levels

    @routes.get("/api/v1/reports", tags=["reports"], response_model=schemas.ReportPage)
    def list_reports(
        who: Reader,
        originator: Annotated[str | None, Query(max_length=64, pattern=schemas.IDENTIFIER)] = None,
        category: Annotated[str | None, Query(max_length=100, pattern=schemas.IDENTIFIER)] = None,
        level: Annotated[level_filter | None, Query()] = None,
        since: Annotated[datetime | None, Query(description="RFC 3339 with an offset")] = None,
        cursor: Annotated[str | None, Query(pattern=cursors.PATTERN, description="`next` of the page before")] = None,
        limit: Annotated[int | None, Query(ge=1, le=node.config.max_page_size)] = None,
    ) -> dict[str, Any]:
        """Reports the user is cleared for, newest first."""
        if since is not None and since.tzinfo is None:
            raise InvalidInputError("since: expected an instant with an offset, e.g. 2019-11-23T00:00:00+09:00")
        if since is not None:
            try:
                in_calendar(since)
            except ValueError as error:
                raise InvalidInputError(f"since: expected {error}") from error
        wanted = report_reading.ReportFilter(originator, category, level, since)
        items, following = report_reading.list_reports(
            node, who, wanted, cursor, limit or node.config.default_page_size
        )
        return {"items": items, "next": following}

    @routes.get("/api/v1/reports/{report_id}", tags=["reports"], response_model=schemas.ReportOut)
    def get_report(report_id: ReportId, who: Reader) -> dict[str, Any]:
        """One report, if the user is cleared for it; otherwise 404, exactly as for a missing report."""
        return report_reading.get_report(node, who, report_id)

    @routes.get("/api/v1/decisions", tags=["reports"], response_model=list[schemas.TrailEntry])
    def decision_trail(
        who: Reader, report: Annotated[str, Query(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
    ) -> list[dict[str, Any]]:
        """The decisions taken on a report, with their reasons."""
        return report_reading.decision_trail(node, who, report)

    @routes.get("/api/v1/reports/{report_id}/deliveries", tags=["reports"], response_model=list[schemas.DeliveryOut])
    def deliveries(report_id: ReportId, who: Reader) -> list[dict[str, Any]]:
        """Where a report was sent from this node: each transfer, its route, and its receipt or refusal."""
        return outbox_view.deliveries(node, who, report_id)


def _holding(routes: APIRouter, node: Node) -> None:
    @creating(routes, "/api/v1/reports/{report_id}/consents", "reports", notice_schemas.ConsentOut)
    def grant_consent(
        report_id: ReportId, body: notice_schemas.ReleaseConsent | notice_schemas.RelayConsent, who: ConsentGiver
    ) -> dict[str, Any]:
        """As originator, consent to release a report to a party or to relay it under an arrangement.

        Transfers to the recipients the publisher named that were refused for want of that consent are decided
        again and sent if now allowed; no other party gets the report.
        """
        to = body.to if isinstance(body, notice_schemas.ReleaseConsent) else None
        arrangement = body.arrangement if isinstance(body, notice_schemas.RelayConsent) else None
        return releases.grant_consent(node, who, report_id, to, arrangement, body.until)

    @creating(routes, "/api/v1/reports/{report_id}/compromise", "reports", notice_schemas.CompromiseOut)
    def report_compromise(
        report_id: ReportId, body: notice_schemas.CompromiseIn, who: CompromiseReporter
    ) -> dict[str, Any]:
        """Report the loss or compromise of a received item: recorded, and sent to its originator at flash."""
        return compromises.report_compromise(node, who, report_id, body.description)

    @routes.get("/api/v1/compromises", tags=["reports"], response_model=list[notice_schemas.CompromiseOut])
    def list_compromises(who: InboxViewer, limit: ListingLimit = 100) -> list[dict[str, Any]]:
        """Losses and compromises of items the user may see, reported here or to this party, newest first."""
        return compromises.list_compromises(node, who, limit)


def _stix_bundle(body: schemas.StixBundle) -> str:
    """The bundle as stored: canonical JSON of what was sent (STIX 2.1 §8)."""
    return json.dumps(body.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def _publications(batch: schemas.PublishBatch) -> list[reports.Publication]:
    return [_publication(one) for one in batch.reports]


def _publication(body: schemas.PublishRequest) -> reports.Publication:
    if isinstance(body.body, schemas.StixBundle):
        body_text, body_type = _stix_bundle(body.body), "stix"
    else:
        body_text, body_type = body.body, "text"
    return reports.Publication(
        title=body.title,
        level=body.level,
        categories=body.categories,
        rel_to=body.rel_to,
        precedence=body.precedence,
        compartments=body.compartments,
        body_type=body_type,
        body=body_text,
        recipients=body.recipients,
    )
