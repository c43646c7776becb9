"""The consent inbox: the originators' consents a node knows of, about items its user may see.

A consent that nobody at this node asked for sends nothing (pactnet.services.releases): it is shown here, so
that a user can decide to release the item onward (`POST /api/v1/reports/{id}/releases`). Each entry says
whether it answered a consent request of this node (`request`), on which the node acted itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from pactnet.audit.chain import AuditRecord
from pactnet.services import notices
from pactnet.services.consent_requests import GRANTED
from pactnet.services.notices import OUTGOING
from pactnet.store.instants import instant_text
from pactnet.store.reports import newest_cleared
from pactnet.store.tables import consent_requests, consents, reports

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row

    from pactnet.services.context import Node
    from pactnet.services.users import User

GRANTED_HERE = "granted"
RECEIVED = "received"
_HELD = select(
    consents,
    reports.c.id.label("report_id"),
    reports.c.title,
    reports.c.level_rank,
    reports.c.compartments.label("report_compartments"),
).join(reports, and_(reports.c.originator == consents.c.originator, reports.c.origin_id == consents.c.report))


def _visible(connection: Connection, user: User | None, limit: int) -> list[Row[Any]]:
    """The newest consents about items held here that the user may see, at most `limit`."""
    return newest_cleared(connection, _HELD.order_by(consents.c.seq.desc()), user, limit)


def _answered(connection: Connection, report_ids: set[str]) -> dict[str, str]:
    """The outgoing requests of this node that a consent answered, by the consent statement's id."""
    if not report_ids:
        return {}
    query = select(consent_requests.c.id, consent_requests.c.statement).where(
        consent_requests.c.report_id.in_(report_ids),
        consent_requests.c.direction == OUTGOING,
        consent_requests.c.state == GRANTED,
    )
    return {row.statement["id"]: row.id for row in connection.execute(query) if row.statement}


def _view(node: Node, row: Row[Any], answered: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "direction": GRANTED_HERE if row.originator == node.party else RECEIVED,
        "report_id": row.report_id,
        "title": row.title,
        "originator": row.originator,
        "origin_id": row.report,
        "to": row.to,
        "arrangement": row.arrangement,
        "at": row.at,
        "until": row.until,
        "request": answered.get(row.id),
        "statement": row.statement,
    }


def list_consents(node: Node, user: User | None, limit: int = 100) -> list[dict[str, Any]]:
    """Consents about items held here that the user may see, newest first; the listing is audited."""
    when = instant_text(node.now())

    def write(connection: Connection) -> list[dict[str, Any]]:
        rows = _visible(connection, user, limit)
        answered = _answered(connection, {row.report_id for row in rows})
        returned = {"returned": [row.id for row in rows]}
        node.audit.append(connection, when, [AuditRecord("list", notices.actor(user), "consents", returned)])
        return [_view(node, row, answered) for row in rows]

    return node.uow.write(write)
