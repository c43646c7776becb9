"""The acts and consents recorded at a node: stored once, read back as the world's events and the policy's consents.

A consent's signed statement is kept as received, and travels with its item when the item is passed on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select

from pactnet.policy.model import Consent
from pactnet.store.instants import instant_text, parse_instant_text
from pactnet.store.tables import consents, lifecycle_acts

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection

# One statement counting both: a node's world changes when either does (services.world_cache).
COUNT_ACTS = select(
    select(func.count()).select_from(lifecycle_acts).scalar_subquery()
    + select(func.count()).select_from(consents).scalar_subquery()
)


def recorded_acts(connection: Connection) -> list[dict[str, Any]]:
    """Every lifecycle act recorded at this node, in order, as world-file events."""
    rows = connection.execute(select(lifecycle_acts).order_by(lifecycle_acts.c.seq)).all()
    return [{"at": row.at, "type": row.type, "agreement": row.agreement, "by": row.by} for row in rows]


def recorded_consents(connection: Connection) -> list[Consent]:
    """Every consent recorded at this node (granted here, or received from an originator), in order."""
    return [
        Consent(
            row.report,
            row.originator,
            row.to,
            row.arrangement,
            parse_instant_text(row.at),
            None if row.until is None else parse_instant_text(row.until),
        )
        for row in connection.execute(select(consents).order_by(consents.c.seq))
    ]


def store_statement(connection: Connection, statement: dict[str, Any], at: datetime, until: datetime | None) -> bool:
    """Record a checked statement once; whether it was new."""
    if connection.execute(select(consents.c.seq).where(consents.c.id == statement["id"])).first() is not None:
        return False
    connection.execute(
        insert(consents),
        {
            "id": statement["id"],
            "originator": statement["by"],
            "report": statement["report"],
            "to": statement["to"],
            "arrangement": statement["arrangement"],
            "at": instant_text(at),
            "until": None if until is None else instant_text(until),
            "statement": statement,
        },
    )
    return True


def statements_for(connection: Connection, items: set[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """The stored statements of each (originator, report) item, to pass on with it."""
    if not items:
        return {}
    found: dict[tuple[str, str], list[Any]] = {}
    reports_wanted = {report for _, report in items}
    for row in connection.execute(select(consents).where(consents.c.report.in_(reports_wanted))):
        if (row.originator, row.report) in items:
            found.setdefault((row.originator, row.report), []).append(row.statement)
    return found
