"""Loss or compromise of an item (GSOMIA art. 17 / R23): the originator is told at once, and both ends record it.

At a holder, a user reports that a received item was lost or compromised, actually or possibly: the report is
recorded and sent to the originator's node at flash precedence (`compromise`), signed by the envelope; the
originator's node records it (audit `compromise-reported`) and answers with a signed receipt, which the
holder's dispatcher records as the delivery. docs/federation.md, "Loss or compromise", has the payload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from pactnet.audit.chain import AuditRecord
from pactnet.policy.precedence import Precedence
from pactnet.services import InvalidInputError, notices
from pactnet.services.answers import acknowledge, refuse_envelope
from pactnet.services.notices import INCOMING, MAX_ID, MAX_NAME, MAX_REPORT_ID, MAX_TEXT, OUTGOING
from pactnet.services.report_reading import held_row
from pactnet.store.instants import instant_text
from pactnet.store.tables import compromises

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.services.context import Node
    from pactnet.services.users import User

COMPROMISE = "compromise"
_VIEW = (
    *notices.VIEW_HEAD,
    "reporter",
    "reported_by",
    "description",
    "at",
    "recorded_at",
)


def _view(data: dict[str, Any], sent: dict[str, dict[str, Any]], title: str) -> dict[str, Any]:
    """A compromise as the API shows it, with its report's title; `delivery`: what became of the notice sent."""
    delivery = sent.get(data["envelope"] or "") if data["direction"] == OUTGOING else None
    return {name: data[name] for name in _VIEW} | {"report_title": title, "delivery": delivery}


def report_compromise(node: Node, user: User | None, report_id: str, description: str) -> dict[str, Any]:
    """As a holder, report the loss or compromise of a received item: recorded, and queued for its originator."""
    notices.given_text(description, "description")
    at = node.now()
    when = instant_text(at)
    name = notices.actor(user)

    def write(connection: Connection) -> dict[str, Any]:
        row = held_row(connection, user, report_id)
        if row.originator == node.party:
            raise InvalidInputError(f"{report_id} originated here: there is no other originator to tell")
        notice = notices.ToOriginator(
            kind=COMPROMISE,
            rank=Precedence.FLASH.rank,
            table=compromises,
            id_name="compromise",
            payload={"description": description, "reported_by": name},
            columns={"reporter": node.party, "reported_by": name, "description": description, "recorded_at": when},
        )
        values = notices.send_to_originator(connection, row, notice, at)
        envelope = values["envelope"]
        data = {
            "compromise": values["id"],
            "direction": OUTGOING,
            "originator": row.originator,
            "origin_id": row.origin_id,
            "description": description,
            "envelope": envelope,
        }
        node.audit.append(connection, when, [AuditRecord("compromise-reported", name, report_id, data)])
        return _view(values, notices.deliveries(connection, [envelope]), row.title)

    return node.uow.write(write)


def list_compromises(node: Node, user: User | None, limit: int = 100) -> list[dict[str, Any]]:
    """Compromises of items the user may see, reported here or to this node, newest first; audited."""

    def write(connection: Connection) -> list[dict[str, Any]]:
        rows = notices.listed(connection, node, user, compromises, limit)
        sent = notices.deliveries(connection, [row.envelope for row in rows if row.direction == OUTGOING])
        return [_view(row._asdict(), sent, row.report_title) for row in rows]

    return node.uow.write(write)


def receive_compromise(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any]:
    """At the originator: record a holder's report that one of this party's items was lost or compromised."""
    sender = opened.sender
    limits = {"compromise": MAX_ID, "origin_id": MAX_REPORT_ID, "description": MAX_TEXT, "reported_by": MAX_NAME}
    read = notices.read_notice(connection, node.party, opened.payload, limits)
    if isinstance(read, list):
        return refuse_envelope(connection, node, partner, opened, read)
    compromise_id, origin_id, description, reported_by = read.texts.values()
    at, report = read.at, read.report
    data = {
        "compromise": compromise_id,
        "direction": INCOMING,
        "reporter": sender,
        "reported_by": reported_by,
        "description": description,
        "at": at.isoformat(),
        "envelope": opened.id,
    }
    existing = connection.execute(select(compromises).where(compromises.c.id == compromise_id)).first()
    if existing is not None:
        if existing.direction != INCOMING or existing.reporter != sender:
            why = notices.reasons(f"compromise {compromise_id} is another's", "duplicate-id")
            return refuse_envelope(connection, node, partner, opened, why)
        audit: list[AuditRecord] = [AuditRecord("compromise-reported", sender, report.id, data | {"duplicate": True})]
        receipt = {"compromise": compromise_id, "recorded_at": existing.recorded_at, "duplicate": True}
        return acknowledge(connection, node, partner, opened, receipt, audit, report.id)
    recorded_at = instant_text(node.now())
    row = {
        "id": compromise_id,
        "direction": INCOMING,
        "report_id": report.id,
        "originator": node.party,
        "origin_id": origin_id,
        "reporter": sender,
        "reported_by": reported_by,
        "description": description,
        "at": instant_text(at),
        "recorded_at": recorded_at,
        "envelope": opened.id,
    }
    connection.execute(insert(compromises), row)
    audit = [AuditRecord("compromise-reported", sender, report.id, data)]
    receipt = {"compromise": compromise_id, "recorded_at": recorded_at}
    return acknowledge(connection, node, partner, opened, receipt, audit, report.id)
