"""`/federation/v1/envelopes`: envelopes from partner nodes, authenticated by their signature, not a token."""

from typing import Any

from fastapi import APIRouter

from pactnet.api import errors, schemas
from pactnet.federation import witness
from pactnet.services import ServiceError, inbound
from pactnet.services.context import Node


def install(routes: APIRouter, node: Node) -> None:
    """Add the routes partner nodes post to."""

    @routes.post(
        "/federation/v1/envelopes",
        tags=["federation"],
        responses={400: {"model": schemas.ErrorOut, "description": "Not an envelope this node can read"}},
    )
    def receive_envelope(envelope: schemas.EnvelopeIn) -> dict[str, Any]:
        """An envelope from a partner node; no token: its signature authenticates it (docs/federation.md).

        200 with the signed receipt or refusal; an envelope that cannot be verified gets the one error shape.
        """
        return inbound.receive(node, envelope.model_dump(by_alias=True))

    @routes.post(
        witness.HEADS_PATH,
        tags=["federation"],
        responses={
            403: {"model": schemas.ErrorOut, "description": "Not from a partner this node trusts, or not for it"},
            409: {"model": schemas.ErrorOut, "description": "Sent too long ago (stale)"},
            422: {"model": schemas.ErrorOut, "description": "Not an audit-head envelope this node can read"},
        },
    )
    def witness_head(envelope: schemas.EnvelopeIn) -> dict[str, Any]:
        """A partner's signed audit head to keep as its witness; the answer says, signed, what this node holds."""
        return witness.receive_head(node, envelope.model_dump(by_alias=True))

    @routes.post("/federation/v1/envelopes/batch", tags=["federation"], response_model=schemas.EnvelopeAnswers)
    def receive_envelopes(body: schemas.EnvelopeBatch) -> dict[str, Any]:
        """Up to 256 envelopes from partner nodes, answered in order (how dispatchers send).

        Each answer is `{"envelope": signed receipt or refusal}` or, for one that cannot be verified,
        `{"error": {status, code, message}}`.
        """
        answers = inbound.receive_batch(node, [one.model_dump(by_alias=True) for one in body.envelopes])
        return {"answers": [_batch_answer(answer) for answer in answers]}


def _batch_answer(answer: dict[str, Any] | ServiceError) -> dict[str, Any]:
    if isinstance(answer, ServiceError):
        details = answer.details[0] if answer.details else {}
        return {"error": {"status": errors.status_of(answer), "code": details.get("code"), "message": answer.message}}
    return {"envelope": answer}
