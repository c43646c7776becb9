"""Where an item goes on: only where someone at the sending node asked, and only as the agreements and consents allow.

A consent permits a transfer; it never asks for one (GSOMIA art. 6: the originator consents, the holder
releases). The agreements say who *may* receive an item, its publisher says who *shall*: a transfer is decided
only because someone at the sending node asked for it — the publisher's recipients (`recipients`), a consent
request of this node (`consent-request`) or a user's onward release (`release`) — and its decision, outbox row
and audit entries say which (docs/federation.md, "Who asks for a transfer").

- At the originator, a consent it grants decides again only the transfers to recipients the publisher named
  that were refused (or cancelled) for want of that consent; for a relay consent, through the arrangement's hub.
- At a holder, a release consent from the originator sends the item only where this node asked for it (a
  pending consent request for that item and party), and once. Otherwise it waits in the consent inbox
  (pactnet.services.consent_inbox) until a user releases the item onward (`release_report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from pactnet.audit.chain import AuditRecord
from pactnet.policy.clock import parse_instant
from pactnet.policy.decisions import Code, Decision, decide
from pactnet.policy.precedence import NOTICE_RANK
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, notices
from pactnet.services.answers import acknowledge, refuse_envelope
from pactnet.services.consent_requests import GRANTED, PENDING
from pactnet.services.consents import (
    CONSENT,
    StatementError,
    build_statement,
    check_statement,
    held_item,
)
from pactnet.services.notices import OUTGOING
from pactnet.services.records import decision_row, decision_summary
from pactnet.services.report_reading import held_row
from pactnet.services.reports import check_other_party
from pactnet.store.acts import store_statement
from pactnet.store.instants import instant_text
from pactnet.store.outbox import (
    BY_RECIPIENTS,
    BY_RELEASE,
    BY_REQUEST,
    CANCELLED,
    DELIVERED,
    TRANSFER,
    enqueue,
    enqueue_transfer,
    report_payload,
    transfer_on_its_way,
    transfer_row,
)
from pactnet.store.reports import item_by_origin
from pactnet.store.tables import consent_requests, decisions, outbox

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.policy.model import World
    from pactnet.services.context import Node
    from pactnet.services.users import User


def decide_and_queue(
    connection: Connection, node: Node, world: World, row: Row[Any], to: str, at: datetime, asked_by: str
) -> tuple[Decision, str | None]:
    """Decide a transfer of a held report to `to` now, record it, and queue it if allowed; and its envelope id.

    Used by onward release here, and by services.stix_versions for a new version passed on where earlier went.
    """
    decision = decide(world, held_item(node, row), node.party, to, at)
    connection.execute(insert(decisions), decision_row(row.id, node.party, to, instant_text(at), decision, asked_by))
    if not decision.allowed:
        return decision, None
    payload = report_payload(row._asdict(), row.origin_level or row.level)
    return decision, enqueue_transfer(connection, transfer_row(payload, decision, [node.party], row.id, at, asked_by))


def _redecide(
    connection: Connection, node: Node, world: World, row: Row[Any], to: str, at: datetime, asked_by: str
) -> list[AuditRecord]:
    """Decide again a transfer someone asked for, unless it is on its way already; its `decide` audit record.

    A leg this node relayed there for another sender does not count: this node's ask is its own transfer (the
    receiver, holding the item already, answers it as a duplicate and stores nothing twice).
    """
    if to == node.party or transfer_on_its_way(connection, row.id, to, sent_by=node.party) is not None:
        return []
    decision, _ = decide_and_queue(connection, node, world, row, to, at, asked_by)
    return [AuditRecord("decide", node.party, row.id, decision_summary(to, decision, asked_by))]


def _wanting(connection: Connection, node: Node, report_id: str, to: str | None, arrangement: str | None) -> list[str]:
    """The recipients the publisher named whose transfer was last refused, or cancelled, for want of this consent.

    A release consent (`to`) can help only the transfer to `to`; a relay consent only those to a party the
    arrangement relays to from this party (through its hub).
    """
    code = Code.NO_ORIGINATOR_CONSENT if to is not None else Code.NO_RELAY_CONSENT
    relayed = {
        party
        for (sender, party), found in node.world.relays.items()
        if sender == node.party and any(one.id == arrangement for one in found)
    }
    named = select(decisions.c.seq, decisions.c.recipient, decisions.c.reasons).where(
        decisions.c.report_id == report_id, decisions.c.holder == node.party, decisions.c.asked_by == BY_RECIPIENTS
    )
    cancelled = select(outbox.c.seq, outbox.c.final, outbox.c.outcome).where(
        outbox.c.report_id == report_id,
        outbox.c.kind == TRANSFER,
        outbox.c.state == CANCELLED,
        outbox.c.asked_by == BY_RECIPIENTS,
    )
    last: dict[str, list[dict[str, Any]]] = {}
    for one in connection.execute(named.order_by(decisions.c.seq)):
        last[one.recipient] = one.reasons
    for one in connection.execute(cancelled.order_by(outbox.c.seq)):
        if one.final in last:  # a named recipient's transfer, cancelled when it was to be sent
            last[one.final] = (one.outcome or {}).get("reasons", [])
    helped = {to} if to is not None else relayed
    return [party for party, why in last.items() if party in helped and code in {r.get("code") for r in why}]


def _holders(connection: Connection, report_id: str) -> list[str]:
    """The parties this node delivered a report to."""
    query = select(outbox.c.final).where(
        outbox.c.report_id == report_id, outbox.c.kind == TRANSFER, outbox.c.state == DELIVERED
    )
    return sorted({row.final for row in connection.execute(query)})


def _check_grant(node: Node, to: str | None, arrangement: str | None, until: datetime | None, at: datetime) -> None:
    if (to is None) == (arrangement is None):
        raise InvalidInputError("name exactly one of to (a party) and arrangement")
    if to is not None and (to not in node.world.parties or to == node.party):
        raise InvalidInputError(f"to: {to!r} is not another party of this world")
    if arrangement is not None and arrangement not in node.world.arrangements:
        raise InvalidInputError(f"arrangement: {arrangement!r} is not an arrangement of this world")
    if until is not None and until <= at:
        raise InvalidInputError(f"until: {until.isoformat()} is not after now ({at.isoformat()})")


def grant_consent(
    node: Node, user: User, report_id: str, to: str | None, arrangement: str | None, until: datetime | None
) -> dict[str, Any]:
    """Grant consent, as originator, to release a report to a party or relay it under an arrangement.

    The transfers to recipients the publisher named that were refused for want of this consent are decided
    again at once, and sent if it now allows them; no other party gets the item. A release consent is also sent
    to the parties that hold the report, whose users may then release it onward.
    """
    at = node.now()

    def write(connection: Connection) -> dict[str, Any]:
        row = held_row(connection, user, report_id)
        if row.originator != node.party:
            raise ForbiddenError(f"only its originator, {row.originator}, can consent to passing {report_id} on")
        _check_grant(node, to, arrangement, until, at)
        statement = build_statement(node, row.origin_id, to, arrangement, at, until)
        store_statement(connection, statement, at, until)
        world = node.refresh(connection)
        audit: list[AuditRecord] = [AuditRecord("consent-granted", user.name, report_id, {"statement": statement})]
        if to is not None:
            for holder in _holders(connection, report_id):
                payload = {"statement": statement}
                enqueue(connection, kind=CONSENT, recipient=holder, payload=payload, rank=NOTICE_RANK, at=at)
        for party in _wanting(connection, node, report_id, to, arrangement):
            audit += _redecide(connection, node, world, row, party, at, BY_RECIPIENTS)
        node.audit.append(connection, instant_text(at), audit)
        return statement

    return node.uow.write(write)


def receive_consent(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any]:
    """At a holder: an originator's consent statement about one of its items. Recorded; acted on only if asked.

    The item is sent on only to a party this node asked consent for (a pending consent request, which becomes
    granted). An unasked consent waits in the consent inbox until a user releases the item.
    """
    sent = opened.payload.get("statement")
    statement: dict[str, Any] = sent if isinstance(sent, dict) else {}
    try:
        at, until = check_statement(node, statement, opened.sender, None)
    except StatementError as error:
        reasons = [{"code": "bad-consent", "message": str(error)}]
        return refuse_envelope(connection, node, partner, opened, reasons)
    store_statement(connection, statement, at, until)
    world = node.refresh(connection)
    audit: list[AuditRecord] = [
        AuditRecord("consent-received", opened.sender, statement["report"], {"statement": statement})
    ]
    held = item_by_origin(connection, opened.sender, statement["report"])
    if held is not None and statement["to"] is not None:
        audit += _grant_requests(connection, node, world, held, statement, opened)
    return acknowledge(connection, node, partner, opened, {"consent": statement["id"]}, audit)


def _grant_requests(
    connection: Connection, node: Node, world: World, held: Row[Any], statement: dict[str, Any], opened: Opened
) -> list[AuditRecord]:
    """Mark granted this node's pending requests that the statement answers, and act on them, once."""
    query = select(consent_requests.c.id).where(
        consent_requests.c.direction == OUTGOING,
        consent_requests.c.report_id == held.id,
        consent_requests.c.originator == opened.sender,
        consent_requests.c.to == statement["to"],
        consent_requests.c.state == PENDING,
    )
    asked = [row.id for row in connection.execute(query)]
    if not asked:
        return []  # nobody here asked: the consent permits a release, which only a user makes
    answered = {
        "state": GRANTED,
        "answered_at": instant_text(parse_instant(statement["at"])),  # checked by check_statement
        "answered_by": opened.sender,
        "statement": statement,
    }
    connection.execute(update(consent_requests).where(consent_requests.c.id.in_(asked)).values(**answered))
    to = statement["to"]
    granted = {"to": to, "statement": statement["id"], "envelope": opened.id}
    audit: list[AuditRecord] = [
        AuditRecord("consent-granted", opened.sender, held.id, granted | {"request": one}) for one in asked
    ]
    return audit + _redecide(connection, node, world, held, to, node.now(), BY_REQUEST)


def release_report(node: Node, user: User | None, report_id: str, to: str) -> dict[str, Any]:
    """Release a held report onward to `to`, as a user asks: decided now like any transfer, sent if allowed.

    A refused release is recorded and answered with its reasons, as a publication's refused decisions are.
    404 for a report the user may not see; 422 for `to` not another party or the item's originator; 409 when
    the item is on its way to `to`, or was delivered there, already. `user` None is the operator.
    """
    at = node.now()
    when = instant_text(at)
    name = notices.actor(user)

    def write(connection: Connection) -> dict[str, Any]:
        row = held_row(connection, user, report_id)
        check_other_party(node, to)
        if to == row.originator:
            raise InvalidInputError(f"to: {to} is the originator of {report_id}: it holds the item already")
        sent = transfer_on_its_way(connection, row.id, to)
        if sent is not None:
            raise ConflictError(f"{report_id} was sent to {to} already: envelope {sent.envelope_id}, {sent.state}")
        world = node.refresh(connection)
        decision, envelope = decide_and_queue(connection, node, world, row, to, at, BY_RELEASE)
        released = {"to": to, "allowed": decision.allowed, "envelope": envelope}
        node.audit.append(
            connection,
            when,
            [
                AuditRecord("release", name, report_id, released),
                AuditRecord("decide", node.party, report_id, decision_summary(to, decision, BY_RELEASE)),
            ],
        )
        return {"report": report_id, "at": when, "asked_by": BY_RELEASE, "envelope": envelope, "to": to} | (
            decision.as_dict()
        )

    return node.uow.write(write)
