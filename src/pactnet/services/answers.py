"""Answering a verified envelope: the signed receipt or refusal, recorded once with the envelope's id.

Every kind of envelope (transfers, lifecycle acts, consent, compromise reports) is answered the same way, so
that a replay of its id gets the same answer (docs/federation.md, "Receiving").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from pactnet.audit.chain import AuditRecord
from pactnet.crypto.envelope import seal
from pactnet.logs import note
from pactnet.store.instants import instant_text
from pactnet.store.tables import envelopes

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.services.context import Node

log = logging.getLogger(__name__)
RECEIPT = "receipt"
REFUSAL = "refusal"


def seal_answer(node: Node, partner: Partner, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An answer envelope to `partner`, signed by this node."""
    return seal(node.keys, node.party, partner.party, partner.encryption_key, kind, payload, node.now())


def envelope_row(
    node: Node,
    opened: Opened,
    outcome: str,
    report_id: str | None,
    reasons: list[dict[str, str]],
    answer: dict[str, Any],
) -> dict[str, Any]:
    """The `envelopes` row that records how an envelope was answered (and answers a replay of its id)."""
    return {
        "id": opened.id,
        "sender": opened.sender,
        "kind": opened.kind[:32],
        "received_at": instant_text(node.now()),
        "outcome": outcome,
        "report_id": report_id,
        "reasons": reasons,
        "answer": answer,
    }


@dataclass(frozen=True, slots=True)
class Refusal:
    """A verified envelope's refusal: the signed answer, the `envelopes` row and the audit record to write."""

    answer: dict[str, Any]
    row: dict[str, Any]
    audit: AuditRecord


def refusal(node: Node, partner: Partner, opened: Opened, reasons: list[dict[str, str]]) -> Refusal:
    """Refuse a verified envelope with its reasons; the caller writes the row and the record."""
    answer = seal_answer(node, partner, REFUSAL, {"envelope": opened.id, "reasons": reasons})
    data = {"kind": opened.kind, "codes": [reason["code"] for reason in reasons], "reasons": reasons}
    note(log, "refusal-sent", logging.WARNING, partner=partner.party, envelope=opened.id, kind=opened.kind,
         codes=data["codes"])  # fmt: skip
    return Refusal(
        answer,
        envelope_row(node, opened, "refused", None, reasons, answer),
        AuditRecord("refused-envelope", opened.sender, opened.id, data),
    )


def refuse_envelope(
    connection: Connection, node: Node, partner: Partner, opened: Opened, reasons: list[dict[str, str]]
) -> dict[str, Any]:
    """Refuse a verified envelope with its reasons: recorded, audited, answered with a signed refusal."""
    refused = refusal(node, partner, opened, reasons)
    connection.execute(insert(envelopes), refused.row)
    node.audit.append(connection, instant_text(node.now()), [refused.audit])
    return refused.answer


def acknowledge(
    connection: Connection,
    node: Node,
    partner: Partner,
    opened: Opened,
    receipt: dict[str, Any],
    audit: list[AuditRecord],
    report_id: str | None = None,
) -> dict[str, Any]:
    """Accept a verified envelope: record it, append its audit entries, answer with a signed receipt."""
    answer = seal_answer(node, partner, RECEIPT, {"envelope": opened.id, **receipt})
    connection.execute(insert(envelopes), envelope_row(node, opened, "accepted", report_id, [], answer))
    node.audit.append(connection, instant_text(node.now()), audit)
    return answer
