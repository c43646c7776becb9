"""Delivering: what became of each transfer and notice a dispatcher round tried, written as one settle.

The loop that sends (pactnet.federation.dispatcher) hands each round's outcomes here: delivered, refused by
the partner, cancelled (the agreement ended; re-routed through a hub when the core now finds another way), or
pending again with the time of the next attempt. One statement per kind of update for the whole chunk (a
statement per row cost more in SQLAlchemy than in SQLite), and the audit entries of the rows settled, in the
caller's transaction. A row settled already (by an earlier round that was not told) is left as it is, unaudited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from pactnet.audit.chain import AuditRecord
from pactnet.services.records import decision_row, decision_summary
from pactnet.store.instants import instant_text
from pactnet.store.outbox import (
    BY_RECIPIENTS,
    CANCELLED,
    DELIVERED,
    PENDING,
    REFUSED,
    TRANSFER,
    enqueue_transfer,
    transfer_row,
)
from pactnet.store.tables import decisions, outbox

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row, Update

    from pactnet.policy.decisions import Decision
    from pactnet.services.context import Node

# Statements built once: building one per row cost more than running it (the settle of a batch writes every row).
_PENDING_ROW = (outbox.c.seq == bindparam("row_seq"), outbox.c.state == PENDING)


def _pending_row_update(*columns: str) -> Update:
    """An update of these columns of a row still pending, each from the parameter `row_<column>` (executemany)."""
    values = {name: bindparam(f"row_{name}", type_=outbox.c[name].type) for name in columns}
    return update(outbox).where(*_PENDING_ROW).values(values)


_SETTLE = _pending_row_update("state", "settled_at", "outcome", "answer", "attempts")
_STILL_PENDING = select(outbox.c.seq).where(
    outbox.c.seq.in_(bindparam("seqs", expanding=True)), outbox.c.state == PENDING
)
_RETRY_LATER = _pending_row_update("attempts", "next_at", "last_error")


@dataclass(slots=True)
class Outcome:
    """What became of one row in one attempt."""

    row: Row[Any]
    state: str  # DELIVERED, REFUSED, CANCELLED, or PENDING (try again later)
    detail: dict[str, Any] = field(default_factory=dict)
    answer: dict[str, Any] | None = None
    error: str | None = None
    reroute: Decision | None = None


def settle(connection: Connection, node: Node, outcomes: list[Outcome]) -> list[Outcome]:
    """Write what became of each row, and audit every delivery, refusal and cancellation; the outcomes written."""
    now = node.now()
    when = instant_text(now)
    seqs = [outcome.row.seq for outcome in outcomes]
    pending = set(connection.execute(_STILL_PENDING, {"seqs": seqs}).scalars()) if seqs else set()
    written = [outcome for outcome in outcomes if outcome.row.seq in pending]
    retries = [_retry_values(outcome) for outcome in written if outcome.state == PENDING]
    settled = [_settled_values(outcome, when) for outcome in written if outcome.state != PENDING]
    audit: list[AuditRecord] = []
    for outcome in written:
        if outcome.state != PENDING:
            audit.append(_settled_entry(node.party, outcome.row, outcome))
            if outcome.reroute is not None:
                audit += _reroute(connection, node, outcome.row, outcome.reroute, now)
    for statement, values in ((_RETRY_LATER, retries), (_SETTLE, settled)):
        if values:
            connection.execute(statement, values)
    if audit:
        node.audit.append(connection, when, audit)
    return written


def _retry_values(outcome: Outcome) -> dict[str, Any]:
    row = outcome.row
    return {
        "row_seq": row.seq,
        "row_attempts": row.attempts + 1,
        "row_next_at": outcome.detail["next_at"],
        "row_last_error": outcome.error,
    }


def _settled_values(outcome: Outcome, when: str) -> dict[str, Any]:
    row = outcome.row
    return {
        "row_seq": row.seq,
        "row_state": outcome.state,
        "row_settled_at": when,
        "row_outcome": outcome.detail,
        "row_answer": outcome.answer,
        # A cancellation is no attempt.
        "row_attempts": row.attempts if outcome.state == CANCELLED else row.attempts + 1,
    }


def _reroute(connection: Connection, node: Node, row: Row[Any], decision: Decision, now: datetime) -> list[AuditRecord]:
    """Send an item this node holds along the route the core finds now, as a new decision, asked as before."""
    report_id, asked_by = row.report_id or "", row.asked_by or BY_RECIPIENTS
    when, party = instant_text(now), node.party
    connection.execute(decisions.insert(), decision_row(report_id, party, row.final, when, decision, asked_by))
    enqueue_transfer(connection, transfer_row(row.payload["report"], decision, [party], report_id, now, asked_by))
    return [AuditRecord("decide", party, report_id, decision_summary(row.final, decision, asked_by))]


def _settled_entry(party: str, row: Row[Any], outcome: Outcome) -> AuditRecord:
    subject = row.report_id or row.envelope_id
    data: dict[str, Any] = {"envelope": row.envelope_id, "kind": row.kind, "to": row.recipient}
    if row.kind == TRANSFER:
        data |= {
            "final": row.final,
            "under": row.under,
            "route": row.payload.get("route", []),
            "asked_by": row.asked_by,
        }
    if outcome.state == DELIVERED:
        marking = outcome.detail.get("marking") or {}
        data |= {"stored_as": outcome.detail.get("stored_as"), "level": marking.get("level")}
        return AuditRecord("delivered", row.recipient, subject, data)
    data["reasons"] = outcome.detail.get("reasons", [])
    if outcome.state == REFUSED:
        return AuditRecord("refused-by-partner", row.recipient, subject, data)
    return AuditRecord("cancelled", party, subject, data)
