"""Originators' consents (GSOMIA art. 6), signed so that every node on an item's route can check them.

A consent is granted at the originator's node for one of its own reports: to release it to a party, or to
relay it under an arrangement. It is a signed statement (`pactnet.consent/1`: Ed25519 by the originator's node
over a domain string and the canonical JSON of every other field). Transfers of the item carry the statements,
and a receiver adopts one only if the originator's key verifies it; a consent to release to a party is also
sent to the parties that hold the item, so that they may pass it on (and their node then does).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from pactnet.audit.chain import AuditRecord
from pactnet.crypto.identity import key_valid_at
from pactnet.crypto.keys import b64, unb64, verify
from pactnet.policy.clock import parse_instant
from pactnet.policy.decisions import decide
from pactnet.policy.model import Report
from pactnet.policy.precedence import NOTICE_RANK
from pactnet.services import ForbiddenError, InvalidInputError, NotFoundError
from pactnet.services.answers import acknowledge, refuse_envelope
from pactnet.services.records import decision_row, decision_summary
from pactnet.services.reports import readable_row
from pactnet.store.instants import instant_text
from pactnet.store.outbox import (
    DELIVERED,
    PENDING,
    TRANSFER,
    enqueue,
    enqueue_transfer,
    report_payload,
)
from pactnet.store.tables import consents, decisions, outbox, reports

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.services.context import Node
    from pactnet.services.users import User

CONSENT = "consent"
FORMAT = "pactnet.consent/1"
DOMAIN = b"pactnet-consent/1 signature\n"
FIELDS = frozenset({"format", "id", "by", "report", "to", "arrangement", "at", "until", "signature"})


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _signed(statement: dict[str, Any]) -> bytes:
    return DOMAIN + _canonical({key: value for key, value in statement.items() if key != "signature"})


def build_statement(
    node: Node, report: str, to: str | None, arrangement: str | None, at: datetime, until: datetime | None
) -> dict[str, Any]:
    """A consent by this node's party to release (`to`) or relay (`arrangement`) its report `report`."""
    statement = {
        "format": FORMAT,
        "id": uuid.uuid4().hex,
        "by": node.party,
        "report": report,
        "to": to,
        "arrangement": arrangement,
        "at": at.isoformat(),
        "until": None if until is None else until.isoformat(),
    }
    return statement | {"signature": b64(node.keys.sign(_signed(statement)))}


class StatementError(Exception):
    """A consent statement that is not valid; the message says why."""


def _check(node: Node, statement: dict[str, Any], originator: str, report: str | None) -> tuple[datetime, Any]:
    """The statement's instant and its `until`, once its shape, subject and signature are checked."""
    if set(statement) != FIELDS or statement.get("format") != FORMAT:
        raise StatementError(f"not a {FORMAT} statement with exactly the fields {', '.join(sorted(FIELDS))}")
    if statement["by"] != originator or (report is not None and statement["report"] != report):
        raise StatementError(f"a consent to this item can come only from its originator, {originator}")
    if not all(isinstance(statement[name], str) for name in ("id", "report", "at", "signature")):
        raise StatementError("id, report, at and signature are texts")
    if (statement["to"] is None) == (statement["arrangement"] is None):
        raise StatementError("a consent names exactly one of to and arrangement")
    try:
        at = parse_instant(statement["at"])
        until = None if statement["until"] is None else parse_instant(statement["until"])
        signature = unb64(statement["signature"])
    except (ValueError, TypeError) as error:
        raise StatementError(f"an instant or the signature cannot be read: {error}") from error
    if originator == node.party:
        keys_ok = verify(node.keys.public_signing, signature, _signed(statement))
    else:
        partner = node.partners().get(originator)
        if partner is None:
            raise StatementError(f"{originator} is not a trusted partner: its signature cannot be checked")
        keys_ok = any(
            verify(key, signature, _signed(statement)) and key_valid_at(partner.history, key, at)
            for key in (partner.signing_key, *(old.signing_key for old in partner.retired))
        )
    if not keys_ok:
        raise StatementError(f"the signature is not {originator}'s")
    return at, until


def _store(connection: Connection, statement: dict[str, Any], at: datetime, until: datetime | None) -> bool:
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


def adopt_consents(
    connection: Connection, node: Node, originator: str, report: str, statements: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Check and record the consent statements a transfer carries; the reasons to refuse it, if any is not valid."""
    for statement in statements:
        try:
            at, until = _check(node, statement, originator, report)
        except StatementError as error:
            return [{"code": "bad-consent", "message": f"a consent statement the transfer carries: {error}"}]
        _store(connection, statement, at, until)
    return []


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


def _item(node: Node, row: Row[Any]) -> Report:
    """The policy item of a stored report, as its originator marked it."""
    label = row.origin_level or row.level
    level = node.world.parties[row.originator].level_of(label) or label
    rel_to = None if row.rel_to is None else frozenset(row.rel_to)
    categories = tuple(row.categories)
    created = parse_instant(row.created_at)
    return Report(row.origin_id, row.originator, label, level, categories, frozenset(categories), rel_to, created)


def _send_if_allowed(connection: Connection, node: Node, row: Row[Any], to: str, at: datetime) -> list[AuditRecord]:
    """Decide a transfer of a held report to `to` now, and queue it if allowed and not already on its way."""
    busy = connection.execute(
        select(outbox.c.seq).where(
            outbox.c.report_id == row.id,
            outbox.c.final == to,
            outbox.c.kind == TRANSFER,
            outbox.c.state.in_((PENDING, DELIVERED)),
        )
    ).first()
    if busy is not None or to == node.party:
        return []
    decision = decide(node.world, _item(node, row), node.party, to, at)
    connection.execute(insert(decisions), decision_row(row.id, node.party, to, instant_text(at), decision))
    if decision.allowed:
        payload = report_payload(row._asdict(), row.origin_level or row.level)
        enqueue_transfer(connection, payload, decision, [node.party], row.id, at)
    return [AuditRecord("decide", node.party, row.id, decision_summary(to, decision))]


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

    The report's transfers refused so far are decided again at once: those the consent now allows are sent.
    """
    at = node.now()

    def write(connection: Connection) -> dict[str, Any]:
        row = readable_row(connection, user, report_id)
        if row is None:
            raise NotFoundError(f"no report {report_id!r}")
        if row.originator != node.party:
            raise ForbiddenError(f"only its originator, {row.originator}, can consent to passing {report_id} on")
        _check_grant(node, to, arrangement, until, at)
        statement = build_statement(node, row.origin_id, to, arrangement, at, until)
        _store(connection, statement, at, until)
        node.refresh(connection)
        audit: list[AuditRecord] = [AuditRecord("consent-granted", user.name, report_id, {"statement": statement})]
        if to is not None:
            for holder in _holders(connection, report_id):
                payload = {"statement": statement}
                enqueue(connection, kind=CONSENT, recipient=holder, payload=payload, rank=NOTICE_RANK, at=at)
        parties = [to] if to is not None else [code for code in node.world.parties if code != node.party]
        for party in parties:
            audit += _send_if_allowed(connection, node, row, party, at)
        node.audit.append(connection, instant_text(at), audit)
        return statement

    return node.uow.write(write)


def _holders(connection: Connection, report_id: str) -> list[str]:
    """The parties this node delivered a report to."""
    query = select(outbox.c.final).where(
        outbox.c.report_id == report_id, outbox.c.kind == TRANSFER, outbox.c.state == DELIVERED
    )
    return sorted({row.final for row in connection.execute(query)})


def receive_consent(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any]:
    """A consent statement from an originator about one of its items this node holds: record it, act on it."""
    sent = opened.payload.get("statement")
    statement: dict[str, Any] = sent if isinstance(sent, dict) else {}
    try:
        at, until = _check(node, statement, opened.sender, None)
    except StatementError as error:
        reasons = [{"code": "bad-consent", "message": str(error)}]
        return refuse_envelope(connection, node, partner, opened, reasons)
    _store(connection, statement, at, until)
    node.refresh(connection)
    audit: list[AuditRecord] = [
        AuditRecord("consent-received", opened.sender, statement["report"], {"statement": statement})
    ]
    held = connection.execute(
        select(reports).where(reports.c.originator == opened.sender, reports.c.origin_id == statement["report"])
    ).first()
    if held is not None and statement["to"] is not None:
        audit += _send_if_allowed(connection, node, held, statement["to"], node.now())
    return acknowledge(connection, node, partner, opened, {"consent": statement["id"]}, audit)
