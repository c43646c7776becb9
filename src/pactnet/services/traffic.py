"""The traffic as a person watches it: reports sent and received, newest first, each with where it went and how.

Only reports the user may read (level and compartments, checked row by row as `list_reports` does), so a row, a
count or a change never tells of an item above the user's clearance.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pactnet.audit.chain import AuditRecord
from pactnet.store.instants import instant_text
from pactnet.store.tables import decisions, outbox, reports

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row

    from pactnet.services.context import Node
    from pactnet.services.users import User

MOST = 50
# The outbox's states as the console words them; a queued envelope is `pending` in the outbox.
STATES = {"pending": "queued", "delivered": "delivered", "refused": "refused", "cancelled": "cancelled"}


def _readable(connection: Connection, user: User, limit: int) -> list[Row[Any]]:
    query = select(reports).where(reports.c.level_rank <= user.rank).order_by(reports.c.seq.desc())
    found: list[Row[Any]] = []
    for row in connection.execute(query):
        if user.compartments.issuperset(row.compartments):  # a set, not a rank: checked row by row
            found.append(row)
            if len(found) == limit:
                break
    return found


def _legs(connection: Connection, node: Node, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each report's transfers from this node: sent (with their outbox state), or refused when decided."""
    found: dict[str, list[dict[str, Any]]] = {report_id: [] for report_id in ids}
    sent = select(outbox).where(outbox.c.report_id.in_(ids), outbox.c.kind == "transfer").order_by(outbox.c.seq)
    for row in connection.execute(sent):
        route = [*row.payload.get("route", []), row.recipient]
        state = STATES.get(row.state, row.state)
        found[row.report_id].append({"to": row.final, "route": route, "state": state, "at": row.settled_at})
    refusals = select(decisions).where(
        decisions.c.report_id.in_(ids), decisions.c.holder == node.party, decisions.c.allowed.is_(False)
    )
    for row in connection.execute(refusals.order_by(decisions.c.seq)):
        reasons = [reason.get("message", "") for reason in row.reasons]
        found[row.report_id].append(
            {"to": row.recipient, "route": [], "state": "refused", "at": row.at, "why": reasons}
        )
    return found


def _view(row: Row[Any], legs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "direction": "incoming" if row.received_from else "outgoing",
        "from": row.received_from or row.originator,
        "originator": row.originator,
        "title": row.title,
        "level": row.level,
        "precedence": row.precedence,
        "created_at": row.created_at,
        "legs": legs,
    }


def _rows(connection: Connection, node: Node, user: User, limit: int) -> list[dict[str, Any]]:
    found = _readable(connection, user, limit)
    legs = _legs(connection, node, [row.id for row in found])
    return [_view(row, legs[row.id]) for row in found]


def traffic(node: Node, user: User, limit: int = MOST) -> list[dict[str, Any]]:
    """The newest reports the user may read, sent or received, with each transfer's state; audited as a listing."""
    when = instant_text(node.now())

    def write(connection: Connection) -> list[dict[str, Any]]:
        shown = _rows(connection, node, user, limit)
        data = {"returned": [item["id"] for item in shown]}
        node.audit.append(connection, when, [AuditRecord("list", user.name, "reports", data)])
        return shown

    return node.uow.write(write)


def digest(node: Node, user: User, limit: int = MOST) -> str:
    """A short fingerprint of what `traffic` would show the user now: it changes exactly when the view does.

    Not audited: it tells the user only that their own view changed, and the page they then load is audited.
    """
    with node.uow.read() as connection:
        shown = _rows(connection, node, user, limit)
    encoded = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]
