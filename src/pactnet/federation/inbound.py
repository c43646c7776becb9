"""Receiving envelopes from partners: verify, re-decide, store once, answer with a signed receipt or refusal.

An envelope that cannot be verified (unknown sender, forged signature, wrong recipient, stale, altered) is not
answered with an envelope: nothing proves who would read it. It is audited and refused with a `ServiceError`
whose details carry the stable code, and its id is not recorded, so a forger cannot claim ids. An envelope that
verifies is recorded in `envelopes` with its signed answer, in the same transaction as what it brought, and a
replay of its id gets that same answer (docs/federation.md, "Receiving").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from pactnet.crypto.envelope import EnvelopeError, Opened, open_envelope, seal, sender_of
from pactnet.crypto.identity import key_valid_at
from pactnet.federation.partners import load_partners
from pactnet.node import instant_text
from pactnet.policy.clock import parse_instant
from pactnet.policy.decisions import decide
from pactnet.policy.model import Report
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, ServiceError
from pactnet.services.reports import PRECEDENCES
from pactnet.store.tables import decisions, envelopes, report_categories, reports

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.federation.partners import Partner
    from pactnet.node import Node
    from pactnet.policy.decisions import Decision

TRANSFER = "transfer"
RECEIPT = "receipt"
REFUSAL = "refusal"
BODY_TYPES = ("text", "stix")
MAX_ID = 200
MAX_TITLE = 500
MAX_LIST = 200
MAX_CODE = 100
# The stable codes of an envelope refused before it is opened, and the error (its HTTP status) each maps to.
_ERRORS: dict[str, type[ServiceError]] = {
    "unknown-sender": ForbiddenError,
    "bad-signature": ForbiddenError,
    "wrong-recipient": ForbiddenError,
    "stale": ConflictError,
    "id-reused": ConflictError,
    "undecryptable": InvalidInputError,
}
_Audit = tuple[str, str, str, dict[str, Any]]


class EnvelopeRefusedError(ServiceError):
    """An envelope that is refused without a signed answer (400 unless a subclass of `_ERRORS` says otherwise)."""


def _refuse(code: str, message: str) -> ServiceError:
    kind = _ERRORS.get(code, EnvelopeRefusedError)
    return kind(message, [{"code": code, "message": message}])


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer payload, shape-checked: the item as its originator marked it, and how it travels."""

    item: Report
    title: str
    precedence: str
    compartments: list[str]
    body_type: str
    body: str
    under: str
    route: list[str]
    created: datetime


class PayloadError(Exception):
    """A payload this node cannot read; `code` is the reason's stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise PayloadError("malformed-payload", f"{name}: expected a text of 1 to {limit} characters")
    return value


def _texts(data: dict[str, Any], name: str, *, optional: bool = False) -> list[str] | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise PayloadError("malformed-payload", f"{name}: expected a list of at most {MAX_LIST} codes")
    if not all(isinstance(one, str) and 0 < len(one) <= MAX_CODE for one in value):
        raise PayloadError("malformed-payload", f"{name}: every entry is a code of 1 to {MAX_CODE} characters")
    return list(value)


def _instant(data: dict[str, Any], name: str) -> datetime:
    value = data.get(name)
    try:
        return parse_instant(value) if isinstance(value, str) else _no_instant(name)
    except ValueError as error:
        raise PayloadError("malformed-payload", f"{name}: expected {error}") from error


def _no_instant(name: str) -> datetime:
    raise PayloadError("malformed-payload", f"{name}: expected an RFC 3339 instant with an offset")


def read_transfer(node: Node, payload: dict[str, Any]) -> Transfer:
    """The transfer a payload carries; raises PayloadError naming the first field that is not right."""
    item = payload.get("report")
    if not isinstance(item, dict):
        raise PayloadError("malformed-payload", "report: expected an object")
    originator = _text(item, "originator", 64)
    party = node.world.parties.get(originator)
    if party is None:
        raise PayloadError("malformed-payload", f"report.originator: {originator!r} is not a party of this world")
    label = _text(item, "level", MAX_CODE)
    level = party.level_of(label)
    if level is None:
        raise PayloadError("malformed-payload", f"report.level: {label!r} is not a level of {originator}")
    precedence = _text(item, "precedence", 16)
    if precedence not in PRECEDENCES:
        raise PayloadError("malformed-payload", f"report.precedence: expected one of {', '.join(PRECEDENCES)}")
    body_type, body = _text(item, "body_type", 16), item.get("body")
    if body_type not in BODY_TYPES or not isinstance(body, str):
        raise PayloadError("malformed-payload", "report.body: expected a text body or a STIX bundle as text")
    limit = node.config.max_body_bytes
    if len(body.encode("utf-8")) > limit:
        raise PayloadError("body-too-large", f"the report's body is larger than this node's limit of {limit} bytes")
    categories = list(dict.fromkeys(_texts(item, "categories") or []))
    rel_to = _texts(item, "rel_to", optional=True)
    route = _texts(payload, "route") or []
    created = _instant(item, "created")
    report = Report(
        _text(item, "id", MAX_ID),
        originator,
        label,
        level,
        tuple(categories),
        frozenset(categories),
        None if rel_to is None else frozenset(rel_to),
        created,
    )
    compartments = sorted(set(_texts(item, "compartments") or []))
    title = _text(item, "title", MAX_TITLE)
    under = _text(payload, "under", MAX_ID)
    return Transfer(report, title, precedence, compartments, body_type, body, under, route, created)


def _partner(node: Node, claimed: str) -> Partner:
    # Read on every envelope, so that `pactnet node trust` takes effect without a restart.
    partner = load_partners(node.config.folder, node.party, node.world.parties).get(claimed)
    if partner is None:
        raise _refuse("unknown-sender", f"{claimed[:64]!r} is not a partner this node trusts")
    return partner


def _open(node: Node, envelope: dict[str, Any], partner: Partner) -> Opened:
    """Open with the partner's current key, or with a retired key still valid when the envelope was sent."""
    now = node.now()
    try:
        return open_envelope(node.keys, node.party, envelope, partner.signing_key, now)
    except EnvelopeError as error:
        if error.code != "bad-signature":
            raise
        for old in partner.retired:
            try:
                opened = open_envelope(node.keys, node.party, envelope, old.signing_key, now)
            except EnvelopeError:
                continue
            if key_valid_at(partner.history, old.signing_key, opened.sent_at):
                return opened
        raise


def _verify(node: Node, envelope: dict[str, Any]) -> tuple[Partner, Opened]:
    """The trusted partner that sent the envelope, and what it carries; raises EnvelopeError or ServiceError."""
    sender = sender_of(envelope)
    if len(envelope["id"]) > MAX_ID:
        raise EnvelopeError("malformed", f"the envelope id is longer than {MAX_ID} characters")
    partner = _partner(node, sender)
    return partner, _open(node, envelope, partner)


def _audit_refused(node: Node, claimed: str, envelope_id: str, code: str, message: str) -> None:
    when = instant_text(node.now())
    data = {"code": code, "message": message}
    node.write(
        lambda connection: node.audit.append(connection, when, [("refused-envelope", claimed, envelope_id, data)])
    )


def _claimed(envelope: dict[str, Any]) -> tuple[str, str]:
    """The claimed sender and id, for the audit log, bounded to what its columns hold."""
    sender = envelope.get("from")
    envelope_id = envelope.get("id")
    return (sender[:100] if isinstance(sender, str) else "?"), (
        envelope_id[:MAX_ID] if isinstance(envelope_id, str) else "?"
    )


def receive(node: Node, envelope: dict[str, Any]) -> dict[str, Any]:
    """Verify an envelope from a partner, act on it once, and return the signed answer to send back.

    Raises a ServiceError (audited, nothing recorded) for an envelope that cannot be verified.
    """
    claimed, envelope_id = _claimed(envelope)
    try:
        partner, opened = _verify(node, envelope)
    except EnvelopeError as error:
        _audit_refused(node, claimed, envelope_id, error.code, str(error))
        raise _refuse(error.code, str(error)) from error
    except ServiceError as error:
        _audit_refused(node, claimed, envelope_id, error.details[0]["code"], error.message)
        raise
    try:
        answer = node.write(lambda connection: _answer(connection, node, partner, opened))
    except IntegrityError:
        # Another worker recorded the same envelope id between our check and our insert: answer as a replay.
        answer = node.write(lambda connection: _answer(connection, node, partner, opened))
    if isinstance(answer, ServiceError):
        raise answer
    return answer


def _answer(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any] | ServiceError:
    """The answer to a verified envelope, or the error to refuse it with.

    The error is returned, not raised: raising would roll back its audit entry with the rest of the write.
    """
    now = node.now()
    when = instant_text(now)
    seen = connection.execute(select(envelopes).where(envelopes.c.id == opened.id)).first()
    if seen is not None:
        if seen.sender != opened.sender:
            message = f"the envelope id {opened.id} was already used by another partner"
            node.audit.append(connection, when, [("refused-envelope", opened.sender, opened.id, {"code": "id-reused"})])
            return _refuse("id-reused", message)
        node.audit.append(connection, when, [("replayed-envelope", opened.sender, opened.id, {"kind": opened.kind})])
        answer: dict[str, Any] = seen.answer
        return answer
    if opened.kind != TRANSFER:
        reasons = [{"code": "unsupported-kind", "message": f"this node does not accept {opened.kind!r} envelopes"}]
        return _refused(connection, node, partner, opened, reasons)
    try:
        transfer = read_transfer(node, opened.payload)
    except PayloadError as error:
        return _refused(connection, node, partner, opened, [{"code": error.code, "message": error.message}])
    world = node.refresh(connection)
    decision = decide(world, transfer.item, opened.sender, node.party, opened.sent_at)
    reasons = _disagreements(node, opened, transfer, decision)
    if reasons:
        return _refused(connection, node, partner, opened, reasons)
    return _accepted(connection, node, partner, opened, transfer, decision)


def _disagreements(node: Node, opened: Opened, transfer: Transfer, decision: Decision) -> list[dict[str, str]]:
    """Why this node does not accept the transfer: its own decision's reasons, or a route it does not agree with."""
    if not decision.allowed:
        return [reason.as_dict() for reason in decision.reasons]
    last = decision.legs[-1]
    if (last.sender, last.receiver) != (opened.sender, node.party) or len(decision.legs) != 1:
        route = " → ".join(decision.route)
        message = f"this node would route the item {route}, not directly from {opened.sender}"
        return [{"code": "route-mismatch", "message": message}]
    if last.under != transfer.under:
        message = f"the transfer claims {transfer.under}, but this node finds it travels under {last.under}"
        return [{"code": "agreement-mismatch", "message": message}]
    return []


def _seal(node: Node, partner: Partner, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return seal(node.keys, node.party, partner.party, partner.encryption_key, kind, payload, node.now())


def _store_envelope(
    connection: Connection,
    node: Node,
    opened: Opened,
    outcome: str,
    report_id: str | None,
    reasons: list[dict[str, str]],
    answer: dict[str, Any],
) -> None:
    row = {
        "id": opened.id,
        "sender": opened.sender,
        "kind": opened.kind[:32],
        "received_at": instant_text(node.now()),
        "outcome": outcome,
        "report_id": report_id,
        "reasons": reasons,
        "answer": answer,
    }
    connection.execute(insert(envelopes), row)


def _refused(
    connection: Connection, node: Node, partner: Partner, opened: Opened, reasons: list[dict[str, str]]
) -> dict[str, Any]:
    answer = _seal(node, partner, REFUSAL, {"envelope": opened.id, "reasons": reasons})
    _store_envelope(connection, node, opened, "refused", None, reasons, answer)
    data = {"kind": opened.kind, "codes": [reason["code"] for reason in reasons], "reasons": reasons}
    node.audit.append(connection, instant_text(node.now()), [("refused-envelope", opened.sender, opened.id, data)])
    return answer


def _accepted(
    connection: Connection, node: Node, partner: Partner, opened: Opened, transfer: Transfer, decision: Decision
) -> dict[str, Any]:
    item = transfer.item
    stored = connection.execute(
        select(reports.c.id, reports.c.level).where(
            reports.c.originator == item.originator, reports.c.origin_id == item.id
        )
    ).first()
    audit: list[_Audit] = []
    if stored is None:
        report_id = uuid.uuid4().hex
        _store_report(connection, node, opened, transfer, decision, report_id)
        audit.append(("decide", node.party, report_id, _decision_entry(opened.sender, decision)))
        level = decision.legs[-1].level
    else:
        # The same item again under a new envelope id (a sender that lost our receipt): acknowledged, not stored.
        report_id, level = stored.id, stored.level
    receipt = {
        "envelope": opened.id,
        "report": item.id,
        "stored_as": report_id,
        "marking": {"originator": item.originator, "level": level},
        "decision": decision.as_dict(),
    }
    answer = _seal(node, partner, RECEIPT, receipt)
    _store_envelope(connection, node, opened, "accepted", report_id, [], answer)
    received = {
        "envelope": opened.id,
        "originator": item.originator,
        "origin_id": item.id,
        "level": level,
        "under": transfer.under,
        "duplicate": stored is not None,
    }
    audit.insert(0, ("receive", opened.sender, report_id, received))
    node.audit.append(connection, instant_text(node.now()), audit)
    return answer


def _store_report(
    connection: Connection, node: Node, opened: Opened, transfer: Transfer, decision: Decision, report_id: str
) -> None:
    item, level = transfer.item, decision.legs[-1].level
    row = {
        "id": report_id,
        "originator": item.originator,
        "origin_id": item.id,
        "received_from": opened.sender,
        "title": transfer.title,
        "level": level,
        "level_rank": node.world.parties[node.party].rank(level),
        "precedence": transfer.precedence,
        "rel_to": None if item.rel_to is None else sorted(item.rel_to),
        "compartments": transfer.compartments,
        "categories": list(item.categories),
        "body_type": transfer.body_type,
        "body": transfer.body,
        "created_at": instant_text(transfer.created),
        "published_by": None,
    }
    seq = connection.execute(insert(reports), row).inserted_primary_key[0]  # type: ignore[index]
    if item.categories:
        connection.execute(insert(report_categories), [{"report_seq": seq, "category": c} for c in item.categories])
    connection.execute(
        insert(decisions),
        {
            "report_id": report_id,
            "holder": opened.sender,
            "recipient": node.party,
            "at": instant_text(opened.sent_at),
            "allowed": True,
            "route": list(decision.route),
            "legs": [leg.as_dict() for leg in decision.legs],
            "marking": decision.as_dict()["marking"],
            "reasons": [],
        },
    )


def _decision_entry(sender: str, decision: Decision) -> dict[str, Any]:
    return {
        "from": sender,
        "allowed": decision.allowed,
        "route": list(decision.route),
        "under": [leg.under for leg in decision.legs],
        "reasons": [reason.code.value for reason in decision.reasons],
    }
