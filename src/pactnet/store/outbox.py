"""The outbox: what this node must send to partner nodes, written in the transaction that decided it.

A row is written with the report, relayed item or act that caused it, so that a crash at any instant either
loses both or keeps both; the dispatcher (pactnet.federation.dispatcher) sends it. Its envelope id is fixed
here: a resend after a crash carries the same id and the receiver answers it as a replay, so an item is
delivered once however many times it is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, Unpack

from sqlalchemy import insert, select

from pactnet.policy.precedence import URGENT_RANK, rank_of
from pactnet.store.bulk import insert_rows
from pactnet.store.identifiers import new_id
from pactnet.store.instants import instant_text
from pactnet.store.tables import outbox
from pactnet.store.unit_of_work import note_queued

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row

    from pactnet.policy.decisions import Decision

TRANSFER = "transfer"
PENDING = "pending"
DELIVERED = "delivered"
REFUSED = "refused"
CANCELLED = "cancelled"
# Who asked for a transfer at the node that sends it (a consent permits a transfer, it never asks for one): the
# publisher's recipients, a consent request of this node that the originator granted, a user's onward release.
BY_RECIPIENTS = "recipients"
BY_REQUEST = "consent-request"
BY_RELEASE = "release"
# A new version of a STIX object, passed on by a holder where it passed the earlier ones (services.stix_versions).
BY_VERSION = "version"
ASKED_BY = (BY_RECIPIENTS, BY_REQUEST, BY_RELEASE, BY_VERSION)


_INSERT = insert(outbox)


def _note_queued(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Note which dispatcher lanes get these rows, for the unit of work that commits them to wake."""
    note_queued(connection, (row["rank"] <= URGENT_RANK for row in rows))


def report_payload(row: dict[str, Any], origin_level: str) -> dict[str, Any]:
    """A stored report as a transfer carries it: as its originator marked it (docs/federation.md)."""
    return {
        "id": row["origin_id"],
        "originator": row["originator"],
        "title": row["title"],
        "level": origin_level,
        "categories": list(row["categories"]),
        "rel_to": row["rel_to"],
        "precedence": row["precedence"],
        "compartments": list(row["compartments"]),
        "body_type": row["body_type"],
        "body": row["body"],
        "created": row["created_at"],
    }


def restore_body(payload: dict[str, Any], held_body: str | None) -> None:
    """Put back, in the payload read from a transfer's row, the body of the report the row names.

    A row written with its body (before bodies were left out) keeps its own. Without a held report (none is
    ever deleted) the payload stays without a body, and the dispatcher cancels it as malformed.
    """
    report = payload.get("report")
    if isinstance(report, dict) and "body" not in report and held_body is not None:
        report["body"] = held_body


class Envelope(TypedDict):
    """An envelope to send, as the outbox is given it: what it is, for whom, what it carries, how urgent, when."""

    kind: str
    recipient: str
    payload: dict[str, Any]
    rank: int
    at: datetime
    # The party the item is for at the end of its route (a relayed transfer's), if not the recipient.
    final: NotRequired[str | None]
    report_id: NotRequired[str | None]
    under: NotRequired[str | None]


def envelope_row(**envelope: Unpack[Envelope]) -> dict[str, Any]:
    """The outbox row of one envelope to send, with a fresh envelope id."""
    when = instant_text(envelope["at"])
    return {
        "envelope_id": new_id(),
        "kind": envelope["kind"],
        "recipient": envelope["recipient"],
        "final": envelope.get("final") or envelope["recipient"],
        "report_id": envelope.get("report_id"),
        "under": envelope.get("under"),
        "rank": envelope["rank"],
        "payload": envelope["payload"],
        "state": PENDING,
        "attempts": 0,
        "next_at": when,
        "created_at": when,
    }


def enqueue(connection: Connection, **envelope: Unpack[Envelope]) -> str:
    """Write one envelope (an act, a consent, a notice) to send; returns its envelope id."""
    row = envelope_row(**envelope)
    connection.execute(_INSERT, row)
    _note_queued(connection, [row])
    return str(row["envelope_id"])


def transfer_row(
    item: dict[str, Any],
    decision: Decision,
    route: list[str],
    report_id: str,
    at: datetime,
    asked_by: str,
    decided: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The outbox row of the next hop of an allowed decision: the hop after `route` (the parties the item has passed).

    The originator's consents are not in it: the dispatcher adds those it knows when it sends. Nor is the item's
    body: the row names the stored report (`report_id`), whose body the dispatcher reads when it sends
    (`restore_body`); a report published to two partners is written once, not three times. `asked_by` (one of
    ASKED_BY) travels with it, so that every node on the route records who asked for the transfer. `decided`:
    `decision.as_dict()`, if the caller made it already (services.records.DecisionForms).
    """
    leg = decision.legs[len(route) - 1]
    payload: dict[str, Any] = {
        "report": {name: value for name, value in item.items() if name != "body"},
        "under": leg.under,
        "route": route,
        "final": decision.route[-1],
        # What the sender decided, and the marking it expects the receiver to apply: the receiver decides
        # again with its own world and refuses a transfer on which the two disagree.
        "decision": decision.as_dict() if decided is None else decided,
        "marking": {"originator": item["originator"], "level": leg.level},
        "asked_by": asked_by,
    }
    row = envelope_row(
        kind=TRANSFER,
        recipient=leg.receiver,
        payload=payload,
        rank=rank_of(item["precedence"]),
        at=at,
        final=decision.route[-1],
        report_id=report_id,
        under=leg.under,
    )
    return row | {"asked_by": asked_by}


def transfer_on_its_way(
    connection: Connection, report_id: str, to: str, *, sent_by: str | None = None
) -> Row[Any] | None:
    """A transfer of a stored report to `to` (its final recipient) that is pending or delivered here, if any.

    `sent_by`: only one this party sends as its own, not a leg it relays for another sender (a hub's own ask is
    its own transfer, decided and recorded as such, whatever it relayed for others).
    """
    query = select(outbox).where(
        outbox.c.report_id == report_id,
        outbox.c.final == to,
        outbox.c.kind == TRANSFER,
        outbox.c.state.in_((PENDING, DELIVERED)),
    )
    for row in connection.execute(query):
        if sent_by is None or row.payload.get("route") == [sent_by]:
            return row
    return None


def enqueue_transfers(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Write transfer rows (`transfer_row`) in one statement."""
    if rows:
        insert_rows(connection, outbox, rows)
        _note_queued(connection, rows)


def enqueue_transfer(connection: Connection, row: dict[str, Any]) -> str:
    """Write one transfer row (`transfer_row`); returns its envelope id."""
    connection.execute(_INSERT, row)
    _note_queued(connection, [row])
    return str(row["envelope_id"])
