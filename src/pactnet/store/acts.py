"""The acts and consents recorded at a node, read back as the world's events and the policy's consents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from pactnet.policy.model import Consent
from pactnet.store.instants import parse_instant_text
from pactnet.store.tables import consents, lifecycle_acts

if TYPE_CHECKING:
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
