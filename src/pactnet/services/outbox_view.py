"""What a node sent about a report, from its outbox: each transfer's route, receipt, refusal or cancellation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pactnet.services.report_reading import rows_about
from pactnet.store.tables import outbox

if TYPE_CHECKING:
    from sqlalchemy import Row

    from pactnet.services.context import Node
    from pactnet.services.users import User


def delivery_view(row: Row[Any]) -> dict[str, Any]:
    """One outbox row as the API shows it."""
    detail = row.outcome or {}
    marking = detail.get("marking") or {}
    report = row.payload.get("report") or {}
    return {
        "envelope": row.envelope_id,
        "kind": row.kind,
        "to": row.recipient,
        "final": row.final,
        "under": row.under,
        "route": [*row.payload.get("route", []), row.recipient] if row.kind == "transfer" else [row.recipient],
        "precedence": report.get("precedence"),
        "state": row.state,
        "attempts": row.attempts,
        "created_at": row.created_at,
        "settled_at": row.settled_at,
        "last_error": row.last_error,
        "level": marking.get("level"),
        "stored_as": detail.get("stored_as"),
        "reasons": detail.get("reasons", []),
        "asked_by": row.asked_by,
    }


def deliveries(node: Node, user: User, report_id: str) -> list[dict[str, Any]]:
    """Every envelope about a report the user may read, oldest first; reading it is audited."""
    query = select(outbox).where(outbox.c.report_id == report_id).order_by(outbox.c.seq)
    rows = rows_about(node, user, report_id, query, audited_as="read-deliveries")
    return [delivery_view(row) for row in rows]
