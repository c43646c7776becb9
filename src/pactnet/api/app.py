"""The node's HTTP API: `/api/v1`, bearer tokens, one error shape, bounded input.

No `from __future__ import annotations` here: FastAPI reads the annotations of the routes at run time.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from starlette.responses import JSONResponse

from pactnet.api import errors, schemas
from pactnet.api.auth import (
    ActRecorder,
    AgreementViewer,
    AuditReader,
    CompromiseReporter,
    ConsentAsker,
    ConsentGiver,
    InboxViewer,
    Publisher,
    Reader,
    UnauthorizedError,
)
from pactnet.api.limits import BodyLimit
from pactnet.api.priority import UrgentFirst
from pactnet.federation.client import request_limit
from pactnet.federation.service import DispatcherService
from pactnet.services import (
    InvalidInputError,
    ServiceError,
    agreements,
    audit,
    compromises,
    consent_requests,
    consents,
    inbound,
    outbox_view,
    reports,
)
from pactnet.services.context import Node

ReportId = Annotated[str, Path(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
PactId = Annotated[str, Path(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorOut, "description": description}
    for status, description in (
        (401, "No valid bearer token"),
        (403, "None of the user's roles carries the duty this needs"),
        (404, "Not found, or not cleared"),
        (409, "In conflict with the current state"),
        (413, "Request body too large"),
        (422, "Invalid input"),
    )
}


def _stix_bundle(body: schemas.StixBundle) -> str:
    """The bundle as stored: canonical JSON of what was sent (STIX 2.1 §8)."""
    return json.dumps(body.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


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


def create_app(node: Node, *, dispatch: bool = False) -> FastAPI:  # noqa: C901, PLR0915 - one closure per route
    """The API of one node; with `dispatch`, the dispatcher sends its outbox while the API runs."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service = DispatcherService(node)
        if dispatch:
            service.start()
        yield
        service.stop()
        # Close the database on shutdown, so SQLite folds its write-ahead log into node.db before the
        # process exits (uvicorn ends the process by a signal right after a graceful shutdown).
        node.close()

    app = FastAPI(
        lifespan=lifespan,
        title=f"pactnet node ({node.party})",
        version="1",
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    app.state.node = node
    limit = node.config.max_body_bytes
    app.add_middleware(BodyLimit, limit=limit, federation_limit=request_limit(limit))
    app.add_middleware(UrgentFirst, urgency=node.uow.urgency)  # outermost: urgent from arrival, body read included
    errors.install(app)

    @app.exception_handler(UnauthorizedError)
    async def unauthorized(_request: Request, error: UnauthorizedError) -> JSONResponse:
        return errors.error_response(401, error.message)

    @app.get("/api/v1/health", response_model=schemas.Health, tags=["node"])
    def health() -> dict[str, str]:
        """Whether the node is up; the only route that needs no token."""
        return {"status": "ok", "party": node.party}

    scheme = node.world.parties[node.party]
    labels = [*scheme.levels, *scheme.aliases]
    partners = [code for code in node.world.parties if code != node.party]

    def publish(body: schemas.PublishRequest, who: Publisher) -> dict[str, Any]:
        """Publish a report this party originates; every transfer is decided at this instant."""
        return reports.publish(node, who, _publication(body))

    def publish_batch(body: schemas.PublishBatch, who: Publisher) -> dict[str, Any]:
        """Publish up to 100 reports in one request and one transaction, all or nothing (for feeds)."""
        return {"results": reports.publish_many(node, who, [_publication(one) for one in body.reports])}

    # The bodies and the level filter are typed with this node's own levels and partners, so that the published
    # schema says exactly what is accepted; the annotations above are their general forms, for mypy.
    publish_body = schemas.publish_request(labels, partners)
    publish.__annotations__["body"] = publish_body
    publish_batch.__annotations__["body"] = schemas.publish_batch(publish_body)
    app.post("/api/v1/reports", status_code=201, response_model=schemas.PublishResponse, tags=["reports"])(publish)
    app.post("/api/v1/reports/batch", status_code=201, response_model=schemas.PublishBatchResponse, tags=["reports"])(
        publish_batch
    )

    def list_reports(
        who: Reader,
        originator: Annotated[str | None, Query(max_length=64, pattern=schemas.IDENTIFIER)] = None,
        category: Annotated[str | None, Query(max_length=100, pattern=schemas.IDENTIFIER)] = None,
        level: Annotated[str | None, Query()] = None,
        since: Annotated[datetime | None, Query(description="RFC 3339 with an offset")] = None,
        cursor: Annotated[str | None, Query(pattern=r"^c[0-9]{1,18}$")] = None,
        limit: Annotated[int | None, Query(ge=1, le=node.config.max_page_size)] = None,
    ) -> dict[str, Any]:
        """Reports the user is cleared for, newest first."""
        if since is not None and since.tzinfo is None:
            raise InvalidInputError("since: expected an instant with an offset, e.g. 2019-11-23T00:00:00+09:00")
        wanted = reports.ReportFilter(originator, category, level, since)
        items, following = reports.list_reports(node, who, wanted, cursor, limit or node.config.default_page_size)
        return {"items": items, "next": following}

    list_reports.__annotations__["level"] = Annotated[Literal[tuple(labels)] | None, Query()]
    app.get("/api/v1/reports", response_model=schemas.ReportPage, tags=["reports"])(list_reports)

    @app.get("/api/v1/reports/{report_id}", response_model=schemas.ReportOut, tags=["reports"])
    def get_report(report_id: ReportId, who: Reader) -> dict[str, Any]:
        """One report, if the user is cleared for it; otherwise 404, exactly as for a missing report."""
        return reports.get_report(node, who, report_id)

    @app.get("/api/v1/decisions", response_model=list[schemas.TrailEntry], tags=["reports"])
    def decision_trail(
        who: Reader, report: Annotated[str, Query(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
    ) -> list[dict[str, Any]]:
        """The decisions taken on a report, with their reasons."""
        return reports.decision_trail(node, who, report)

    @app.get("/api/v1/agreements", response_model=list[schemas.AgreementOut], tags=["agreements"])
    def list_agreements(_who: AgreementViewer) -> list[dict[str, Any]]:
        """Every agreement and arrangement, with its status now."""
        return agreements.list_agreements(node)

    @app.get("/api/v1/agreements/{pact_id}", response_model=schemas.AgreementOut, tags=["agreements"])
    def get_agreement(pact_id: PactId, _who: AgreementViewer) -> dict[str, Any]:
        """One agreement: its status now and its timeline."""
        return agreements.get_agreement(node, pact_id)

    @app.post(
        "/api/v1/agreements/{pact_id}/events", status_code=201, response_model=schemas.AgreementOut, tags=["agreements"]
    )
    def record_act(pact_id: PactId, body: schemas.ActRequest, who: ActRecorder) -> dict[str, Any]:
        """Record a lifecycle act by this party (notice, suspension, resumption, withdrawal), effective now."""
        return agreements.record_act(node, who, pact_id, body.type)

    @app.get("/api/v1/audit", response_model=schemas.AuditPage, tags=["audit"])
    def audit_log(
        who: AuditReader,
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        verify: Annotated[bool, Query(description="Verify the whole log (reads every entry).")] = True,
    ) -> dict[str, Any]:
        """Audit entries after a sequence number, and the verification of the whole log."""
        return audit.page(node, who, after, limit, with_verification=verify)

    @app.post(
        "/federation/v1/envelopes",
        tags=["federation"],
        responses={400: {"model": schemas.ErrorOut, "description": "Not an envelope this node can read"}},
    )
    def receive_envelope(envelope: schemas.EnvelopeIn) -> dict[str, Any]:
        """An envelope from a partner node; no token: its signature authenticates it (docs/federation.md).

        200 with the signed receipt or refusal; an envelope that cannot be verified gets the one error shape.
        """
        return inbound.receive(node, envelope.model_dump(by_alias=True))

    @app.post("/federation/v1/envelopes/batch", tags=["federation"], response_model=schemas.EnvelopeAnswers)
    def receive_envelopes(body: schemas.EnvelopeBatch) -> dict[str, Any]:
        """Up to 256 envelopes from partner nodes, answered in order (how dispatchers send).

        Each answer is `{"envelope": signed receipt or refusal}` or, for one that cannot be verified,
        `{"error": {status, code, message}}`.
        """
        answers = inbound.receive_batch(node, [one.model_dump(by_alias=True) for one in body.envelopes])
        return {"answers": [_batch_answer(answer) for answer in answers]}

    @app.get("/api/v1/reports/{report_id}/deliveries", response_model=list[schemas.DeliveryOut], tags=["reports"])
    def deliveries(report_id: ReportId, who: Reader) -> list[dict[str, Any]]:
        """Where a report was sent from this node: each transfer, its route, and its receipt or refusal."""
        return outbox_view.deliveries(node, who, report_id)

    @app.post(
        "/api/v1/reports/{report_id}/consents", status_code=201, response_model=schemas.ConsentOut, tags=["reports"]
    )
    def grant_consent(
        report_id: ReportId, body: schemas.ReleaseConsent | schemas.RelayConsent, who: ConsentGiver
    ) -> dict[str, Any]:
        """As originator, consent to release a report to a party or to relay it under an arrangement.

        Transfers of the report refused for want of that consent are decided again and sent if now allowed.
        """
        to = body.to if isinstance(body, schemas.ReleaseConsent) else None
        arrangement = body.arrangement if isinstance(body, schemas.RelayConsent) else None
        return consents.grant_consent(node, who, report_id, to, arrangement, body.until)

    request_path = Annotated[str, Path(min_length=1, max_length=64, pattern=schemas.IDENTIFIER)]
    listing_limit = Annotated[int, Query(ge=1, le=1000)]

    @app.post(
        "/api/v1/reports/{report_id}/consent-requests",
        status_code=201,
        response_model=schemas.ConsentRequestOut,
        tags=["consent"],
    )
    def request_consent(report_id: ReportId, body: schemas.ConsentAsk, who: ConsentAsker) -> dict[str, Any]:
        """As a holder, ask a received item's originator for consent to release it to a third party.

        The transfer is decided now (refused, for want of consent) and the request is sent to the originator's
        node; 409 when the transfer is allowed already, consent alone would not allow it, or it is asked already.
        """
        return consent_requests.request_consent(node, who, report_id, body.to, body.purpose)

    @app.get("/api/v1/consent-requests", response_model=list[schemas.ConsentRequestOut], tags=["consent"])
    def list_consent_requests(who: InboxViewer, limit: listing_limit = 100) -> list[dict[str, Any]]:
        """Consent requests about items the user may see, asked here or of this party, newest first."""
        return consent_requests.list_requests(node, who, limit)

    @app.post(
        "/api/v1/consent-requests/{request_id}/answer", response_model=schemas.ConsentRequestOut, tags=["consent"]
    )
    def answer_consent_request(
        request_id: request_path, body: schemas.ConsentAnswer, who: ConsentGiver
    ) -> dict[str, Any]:
        """As originator, grant a holder's request (a signed consent statement) or refuse it, with a reason."""
        return consent_requests.answer_request(
            node, who, request_id, grant=body.grant, reason=body.reason, until=body.until
        )

    @app.post(
        "/api/v1/reports/{report_id}/compromise",
        status_code=201,
        response_model=schemas.CompromiseOut,
        tags=["reports"],
    )
    def report_compromise(report_id: ReportId, body: schemas.CompromiseIn, who: CompromiseReporter) -> dict[str, Any]:
        """Report the loss or compromise of a received item: recorded, and sent to its originator at flash."""
        return compromises.report_compromise(node, who, report_id, body.description)

    @app.get("/api/v1/compromises", response_model=list[schemas.CompromiseOut], tags=["reports"])
    def list_compromises(who: InboxViewer, limit: listing_limit = 100) -> list[dict[str, Any]]:
        """Losses and compromises of items the user may see, reported here or to this party, newest first."""
        return compromises.list_compromises(node, who, limit)

    return app


def _batch_answer(answer: dict[str, Any] | ServiceError) -> dict[str, Any]:
    if isinstance(answer, ServiceError):
        details = answer.details[0] if answer.details else {}
        return {"error": {"status": errors.status_of(answer), "code": details.get("code"), "message": answer.message}}
    return {"envelope": answer}
