"""A transfer that names the receiver as the item's originator: only an item it really published may come back.

A partner could otherwise plant an item the receiver would then treat as its own: stored as originated here, it
could be released onward "with the originator's consent" by the very party that never originated it (issue 17,
item 4). An item handed back (a route that returns to its originator) is acknowledged as the copy it already
holds only if this node published an item with that id and the payload carries it exactly as this node sent it;
anything else that claims this party as originator is refused (docs/federation.md, "Receiving envelopes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pactnet.policy.clock import parse_instant
from pactnet.store.instants import instant_text
from pactnet.store.outbox import report_payload
from pactnet.store.tables import reports

if TYPE_CHECKING:
    from sqlalchemy import Connection

# What an originator fixes when it publishes, and every sender passes on unchanged.
_CONTENT = ("id", "originator", "title", "level", "categories", "rel_to", "compartments", "body_type", "body")


def _as_sent(report: dict[str, Any]) -> dict[str, Any]:
    created = report.get("created")
    return {name: report.get(name) for name in _CONTENT} | {
        "created": instant_text(parse_instant(created)) if isinstance(created, str) else None
    }


def handback_problems(connection: Connection, party: str, report: dict[str, Any]) -> list[dict[str, str]]:
    """Why a transfer of an item claiming `party` as originator is refused; empty if this node published it so."""
    origin_id = str(report.get("id"))
    row = connection.execute(
        select(reports).where(
            reports.c.originator == party, reports.c.origin_id == origin_id, reports.c.published_by.is_not(None)
        )
    ).first()
    if row is None:
        message = f"{party} is named as originator, but this node never published an item {origin_id[:200]!r}"
        return [{"code": "unknown-own-item", "message": message}]
    if _as_sent(report_payload(row._asdict(), row.level)) != _as_sent(report):
        message = f"the item {origin_id[:200]!r} differs from the one {party} published"
        return [{"code": "altered-own-item", "message": message}]
    return []
