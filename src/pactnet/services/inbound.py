"""Receiving envelopes from partners: verify, re-decide, store once, answer with a signed receipt or refusal.

An envelope that cannot be verified (unknown sender, forged signature, wrong recipient, stale, altered) is not
answered with an envelope: nothing proves who would read it. It is audited and refused with a `ServiceError`
whose details carry the stable code, and its id is not recorded, so a forger cannot claim ids. An envelope that
verifies is recorded in `envelopes` with its signed answer, in the same transaction as what it brought, and a
replay of its id gets that same answer (docs/federation.md, "Receiving").
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from pactnet.audit.chain import AuditRecord
from pactnet.crypto.envelope import (
    EnvelopeError,
    Opened,
    UnreadableEnvelopeError,
    check_addressed,
    open_envelope,
    sender_of,
)
from pactnet.crypto.identity import key_valid_at
from pactnet.policy.clock import parse_instant
from pactnet.policy.decisions import decide
from pactnet.policy.model import Report
from pactnet.policy.precedence import NAMES as PRECEDENCES
from pactnet.policy.precedence import is_urgent
from pactnet.services import ServiceError
from pactnet.services.acts import ACT, receive_act
from pactnet.services.answers import RECEIPT, envelope_row, refusal, seal_answer
from pactnet.services.compromises import COMPROMISE, receive_compromise
from pactnet.services.consent_requests import CONSENT_REFUSED, CONSENT_REQUEST, receive_refusal, receive_request
from pactnet.services.consents import CONSENT, adopt_consents
from pactnet.services.handback import handback_problems
from pactnet.services.records import INSERT_CATEGORIES, category_rows, decision_row, decision_summary
from pactnet.services.releases import receive_consent
from pactnet.services.stix_index import STIX_OBJECT, index_reports, stix_body_problem
from pactnet.services.unopened import refusal_reason, refuse
from pactnet.store.instants import instant_text
from pactnet.store.outbox import ASKED_BY, BY_RECIPIENTS, TRANSFER, enqueue_transfer
from pactnet.store.tables import decisions, envelopes, reports

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Connection, Insert

    from pactnet.federation.partners import Partner, PartnerRegistry
    from pactnet.policy.decisions import Decision
    from pactnet.policy.model import World
    from pactnet.services.context import Node

BODY_TYPES = ("text", "stix", STIX_OBJECT)
MAX_ID = 200
MAX_TITLE = 500
MAX_LIST = 200
MAX_CODE = 100
MAX_ROUTE = 8
# Envelopes of a batch written per transaction (see receive_batch): half a sender's batch (dispatch_batch is 128
# by default). Each transaction costs a commit (an fsync), a look-up and an audit head signed; chunks of 8 cost
# the receiver a tenth to a fifth of its CPU. A flash does not wait for a long chunk: it stops at the next envelope.
WRITE_CHUNK = 64
# Statements built once: building them per envelope cost about as much as running them.
_SEEN = select(envelopes.c.id, envelopes.c.sender, envelopes.c.answer).where(
    envelopes.c.id.in_(bindparam("ids", expanding=True))
)
_STORED = select(reports.c.origin_id, reports.c.id, reports.c.level).where(
    reports.c.originator == bindparam("originator"),
    reports.c.origin_id.in_(bindparam("origin_ids", expanding=True)),
)
# In the order a chunk writes them: a report before its categories and decisions, which name it.
_INSERT_REPORT = insert(reports)
_INSERT_DECISION = insert(decisions)
_INSERT_ENVELOPE = insert(envelopes)
_INSERTS = (_INSERT_REPORT, INSERT_CATEGORIES, _INSERT_DECISION, _INSERT_ENVELOPE)


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
    final: str
    created: datetime
    consents: list[dict[str, Any]]
    asked_by: str = BY_RECIPIENTS


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


def _asked_by(payload: dict[str, Any]) -> str:
    """Who asked the sender for the transfer (pactnet.services.releases); a node older than it sent none."""
    asked_by = payload.get("asked_by", BY_RECIPIENTS)
    if not isinstance(asked_by, str) or asked_by not in ASKED_BY:
        raise PayloadError("malformed-payload", f"asked_by: expected one of {', '.join(ASKED_BY)}")
    return asked_by


def _body(node: Node, item: dict[str, Any]) -> tuple[str, str]:
    """A report's body type and body, checked: a known type, within the node's limit, one STIX object if so typed."""
    body_type, body = _text(item, "body_type", 16), item.get("body")
    if body_type not in BODY_TYPES or not isinstance(body, str):
        raise PayloadError("malformed-payload", "report.body: expected a text body or a STIX bundle as text")
    limit = node.config.max_body_bytes
    if len(body.encode("utf-8")) > limit:
        raise PayloadError("body-too-large", f"the report's body is larger than this node's limit of {limit} bytes")
    problem = stix_body_problem(body) if body_type == STIX_OBJECT else None
    if problem is not None:
        raise PayloadError("malformed-payload", f"report.body: {problem}")
    return body_type, body


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
    body_type, body = _body(node, item)
    categories = list(dict.fromkeys(_texts(item, "categories") or []))
    rel_to = _texts(item, "rel_to", optional=True)
    route = _texts(payload, "route") or []
    if not route or route[0] not in node.world.parties or len(route) > MAX_ROUTE:
        raise PayloadError(
            "malformed-payload", "route: expected the parties the item has passed, its first holder first"
        )
    final = payload.get("final", node.party)
    if not isinstance(final, str) or final not in node.world.parties:
        raise PayloadError("malformed-payload", "final: expected the party the item is for")
    consents = payload.get("consents", [])
    if not isinstance(consents, list) or not all(isinstance(one, dict) for one in consents):
        raise PayloadError("malformed-payload", "consents: expected a list of consent statements")
    created = _instant(item, "created")
    asked_by = _asked_by(payload)
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
    return Transfer(
        report, title, precedence, compartments, body_type, body, under, route, final, created, consents, asked_by
    )


class _Partners:
    """The trusted partners, from partners.toml, read once per batch (when its first envelope needs them).

    Read for every batch, so that `pactnet node trust` takes effect without a restart; reading it for every
    envelope of a batch cost about a tenth of receiving one.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.registry: PartnerRegistry | None = None

    def get(self, claimed: str) -> Partner:
        if self.registry is None:
            self.registry = self.node.partners()
        partner = self.registry.get(claimed)
        if partner is None:
            raise refuse("unknown-sender", f"{claimed[:64]!r} is not a partner this node trusts")
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
            except UnreadableEnvelopeError as unreadable:
                if key_valid_at(partner.history, old.signing_key, unreadable.opened.sent_at):
                    raise
                continue
            except EnvelopeError:
                continue
            if key_valid_at(partner.history, old.signing_key, opened.sent_at):
                return opened
        raise


def _verify(node: Node, envelope: dict[str, Any], partners: _Partners) -> tuple[Partner, Opened]:
    """The trusted partner that sent the envelope, and what it carries; raises EnvelopeError or ServiceError."""
    sender = sender_of(envelope)
    if len(envelope["id"]) > MAX_ID:
        raise EnvelopeError("malformed", f"the envelope id is longer than {MAX_ID} characters")
    check_addressed(envelope, node.party)
    partner = partners.get(sender)
    return partner, _open(node, envelope, partner)


def _claimed(envelope: dict[str, Any]) -> tuple[str, str]:
    """The claimed sender and id, for the audit log, bounded to what its columns hold."""
    sender = envelope.get("from")
    envelope_id = envelope.get("id")
    return (sender[:100] if isinstance(sender, str) else "?"), (
        envelope_id[:MAX_ID] if isinstance(envelope_id, str) else "?"
    )


@dataclass(slots=True)
class _Acceptance:
    """An accepted transfer's rows, audit records and signed receipt, before they are written.

    Worked out before the write transaction for an urgent transfer (flash or immediate, for this party, the item
    new here, no consents carried): deciding and sealing the receipt are most of the work of receiving, and the
    flash's write then holds the node's one writer for its inserts only. The transaction takes it as it is only
    if it finds what it was worked out against: the same world and the item not held yet. (Routine transfers
    are worked out in their transaction: done ahead for them too, the delivery rate fell by about 7 %.)
    """

    world: World
    item: tuple[str, str]
    report_id: str
    level: str
    report: dict[str, Any] | None  # the report row, if this envelope stores the item
    decision: dict[str, Any]
    receipt: dict[str, Any]
    audit: list[AuditRecord]
    answer: dict[str, Any] | None = None  # sealed once the receipt is complete


@dataclass(frozen=True, slots=True)
class _Checked:
    """An envelope after verification: who sent it and what it carries, or why it is refused unopened."""

    partner: Partner | None = None
    opened: Opened | None = None
    refusal: ServiceError | None = None
    claimed: tuple[str, str] = ("?", "?")
    accepted: _Acceptance | None = None  # its acceptance worked out ahead, if it is an urgent transfer
    unreadable: list[dict[str, str]] | None = None  # why a verified envelope's content cannot be read
    audit: tuple[AuditRecord, ...] = ()  # what the audit log records of a refusal (pactnet.services.refusal_tally)

    @property
    def urgent(self) -> bool:
        """Whether its write goes first (`_is_urgent`)."""
        return self.opened is not None and _is_urgent(self.opened)


def _is_urgent(opened: Opened) -> bool:
    """A flash or immediate report, or a notice (an act, a consent, a compromise)."""
    if opened.kind != TRANSFER:
        return True
    report = opened.payload.get("report")
    return isinstance(report, dict) and is_urgent(str(report.get("precedence")))


def _check(node: Node, envelope: dict[str, Any], partners: _Partners) -> _Checked:
    claimed = _claimed(envelope)
    try:
        partner, opened = _verify(node, envelope, partners)
    except UnreadableEnvelopeError as error:
        # Its sender signed it: answered with a signed refusal of its own, and its batch goes on.
        reasons = [{"code": error.code, "message": str(error)}]
        return _Checked(partners.get(error.opened.sender), error.opened, claimed=claimed, unreadable=reasons)
    except EnvelopeError as error:
        return _unopened(node, refuse(error.code, str(error)), claimed)
    except ServiceError as error:
        return _unopened(node, error, claimed)
    ahead = _accept_ahead(node, partner, opened) if _is_urgent(opened) else None
    return _Checked(partner, opened, accepted=ahead)


def _unopened(node: Node, refusal: ServiceError, claimed: tuple[str, str]) -> _Checked:
    """An envelope refused unopened, tallied before any transaction (a chunk written again appends the same)."""
    record = AuditRecord("refused-envelope", *claimed, refusal_reason(refusal))
    return _Checked(refusal=refusal, claimed=claimed, audit=tuple(node.refusals.admit(node.now(), record)))


def _accept_ahead(node: Node, partner: Partner, opened: Opened) -> _Acceptance | None:
    """The acceptance of a transfer for this party, worked out before its transaction; None if it is not one.

    With the world as this node last read it: the transaction reads it again and works the transfer out anew
    if it changed meanwhile. Anything else (a refusal, a relay, consents to record first) is worked out there.
    """
    if opened.kind != TRANSFER:
        return None
    try:
        transfer = read_transfer(node, opened.payload)
    except PayloadError:
        return None
    if transfer.consents or transfer.final != node.party or transfer.item.originator == node.party:
        return None  # a hand-back is checked against what this node published, in the transaction
    world = node.world
    decision = decide(world, transfer.item, transfer.route[0], transfer.final, opened.sent_at)
    if _disagreements(node, opened, transfer, decision):
        return None
    accepted = _acceptance(node, opened, transfer, decision, world, None)
    accepted.answer = seal_answer(node, partner, RECEIPT, {"envelope": opened.id, **accepted.receipt})
    return accepted


@dataclass(frozen=True, slots=True)
class _Seen:
    """An envelope id answered already: who sent it, and the answer a replay gets."""

    sender: str
    answer: dict[str, Any]


class _ChunkWrite:
    """One transaction's share of a batch: what it looked up at once, and the rows and records it holds back.

    Receiving a transfer took about seven statements, and SQLAlchemy's work around each cost more than SQLite's;
    each also let the other threads take the interpreter lock from the writer. A chunk looks its envelope ids and
    items up with a statement or two, and inserts what its transfers add with one executemany per table when it
    ends. It writes what it holds before anything that writes on its own (a lifecycle act, a relay's outbox row),
    so the log and the tables keep the envelopes' order.
    """

    def __init__(self, node: Node, connection: Connection) -> None:
        self.node = node
        self.connection = connection
        self.seen: dict[str, _Seen] = {}
        self.stored: dict[tuple[str, str], tuple[str, str]] = {}
        self.rows: dict[Insert, list[dict[str, Any]]] = {statement: [] for statement in _INSERTS}
        self.records: list[AuditRecord] = []
        self._world: World | None = None

    def look_up(self, opened: list[Opened]) -> None:
        """Read which of these envelope ids were answered already, and which of their items this node holds."""
        wanted: dict[str, set[str]] = {}
        for one in opened:
            self.seen.pop(one.id, None)
            item = _item_named(one)
            if item is not None:
                self.stored.pop(item, None)
                wanted.setdefault(item[0], set()).add(item[1])
        if opened:
            for row in self.connection.execute(_SEEN, {"ids": [one.id for one in opened]}):
                self.seen[row.id] = _Seen(row.sender, row.answer)
        for originator, origin_ids in wanted.items():
            for row in self.connection.execute(_STORED, {"originator": originator, "origin_ids": sorted(origin_ids)}):
                self.stored[(originator, row.origin_id)] = (row.id, row.level)

    def world(self) -> World:
        """The world to decide with, read again (`Node.refresh`) once per chunk and after anything that changes it."""
        if self._world is None:
            self._world = self.node.refresh(self.connection)
        return self._world

    def forget_world(self) -> None:
        self._world = None

    def take_item(self, accepted: _Acceptance) -> None:
        """Hold back the rows that store an accepted item (if new here) and its decision."""
        if accepted.report is not None:
            self.rows[_INSERT_REPORT].append(accepted.report)
            self.rows[INSERT_CATEGORIES] += category_rows(accepted.report_id, accepted.report["categories"])
            self.stored[accepted.item] = (accepted.report_id, accepted.level)
        self.rows[_INSERT_DECISION].append(accepted.decision)

    def take_answer(self, opened: Opened, accepted: _Acceptance) -> dict[str, Any]:
        """Hold back the envelope's row and the audit records of an accepted transfer; its signed receipt."""
        answer = accepted.answer
        if answer is None:
            raise RuntimeError("an acceptance is taken once its receipt is sealed")
        self.rows[_INSERT_ENVELOPE].append(envelope_row(self.node, opened, "accepted", accepted.report_id, [], answer))
        self.records += accepted.audit
        return answer

    def write(self, *, give_way: bool = False) -> None:
        """Insert the rows held back, then append the audit records, in the envelopes' order.

        With `give_way` (the last write of a routine chunk, most of its transaction), an urgent write waiting
        for the writer is let through between two statements: this transaction is rolled back, and the chunk
        written anew after it (GroupCommitter.give_way_to_urgent).
        """
        writer = self.node.uow.writer
        for statement, rows in self.rows.items():
            if rows:
                if give_way:
                    writer.give_way_to_urgent()
                self.connection.execute(statement, rows)
                if statement is _INSERT_REPORT:  # the TAXII collections hold what is received too
                    index_reports(self.connection, self.node.party, rows, instant_text(self.node.now()))
                rows.clear()
        if self.records:
            if give_way:
                writer.give_way_to_urgent()
            self.node.audit.append(self.connection, instant_text(self.node.now()), self.records)
            self.records = []

    def drop(self) -> None:
        """Forget what is held back: its savepoint was rolled back."""
        for rows in self.rows.values():
            rows.clear()
        self.records = []
        self._world = None


def _item_named(opened: Opened) -> tuple[str, str] | None:
    """The (originator, id) a transfer envelope names, if it names one; checked later, by read_transfer."""
    report = opened.payload.get("report") if opened.kind == TRANSFER else None
    if not isinstance(report, dict):
        return None
    originator, origin_id = report.get("originator"), report.get("id")
    if isinstance(originator, str) and isinstance(origin_id, str):
        return originator, origin_id
    return None


def receive_batch(node: Node, batch: list[dict[str, Any]]) -> list[dict[str, Any] | ServiceError]:
    """Verify envelopes from partners and act on each once; the answer to each, in order.

    An answer is the signed receipt or refusal to send back, or the ServiceError (audited, nothing recorded)
    of an envelope that could not be verified. Verifying happens before any transaction; then the envelopes are
    written WRITE_CHUNK at a time, each envelope in the same transaction as its answer. A flash arriving meanwhile
    (in a request of its own, from the sender's urgent lane) goes first: a routine batch gives way to it between
    two envelopes (pactnet.urgency), its write takes the writer's next turn, and a routine chunk being written
    stops after the envelope in hand. A batch cut short by a crash is sent again and answered as replays up to
    the cut.
    """
    with ExitStack() as stack:
        partners = _Partners(node)
        checked: list[_Checked] = []
        urgent = False
        for envelope in batch:
            if not urgent:
                node.uow.urgency.give_way()  # a routine envelope opens after the flash in hand is stored
            one = _check(node, envelope, partners)
            if one.urgent and not urgent:
                urgent = True
                stack.enter_context(node.uow.urgency.running())
            checked.append(one)
        answers: list[dict[str, Any] | ServiceError] = []
        while len(answers) < len(checked):
            if not urgent:
                node.uow.urgency.give_way()
            chunk = checked[len(answers) : len(answers) + WRITE_CHUNK]
            answers += node.uow.write(partial(_write_chunk, node, chunk, stop_for_urgent=not urgent), urgent=urgent)
    return answers


def _write_chunk(
    node: Node, chunk: list[_Checked], connection: Connection, *, stop_for_urgent: bool
) -> list[dict[str, Any] | ServiceError]:
    """Record verified envelopes and their answers, in one transaction.

    A routine chunk stops after the envelope in hand when an urgent write is waiting for the writer (a flash
    arriving meanwhile waits for one envelope, not the whole chunk); the caller writes the rest next. One that
    comes in once the envelopes are answered, while their rows are inserted, is let through between two
    statements: the chunk is rolled back and runs again after it (nothing of it was committed, its answers are
    worked out anew).
    """
    answers: list[dict[str, Any] | ServiceError] = []
    write = _ChunkWrite(node, connection)
    write.look_up([one.opened for one in chunk if one.opened is not None])
    cut_short = False
    for one in chunk:
        if answers and stop_for_urgent and node.uow.writer.urgent_waiting:
            cut_short = True  # what is done is written now, not thrown away
            break
        if one.partner is None or one.opened is None:
            refusal = one.refusal or refuse("malformed", "not an envelope")
            write.records += one.audit
            answers.append(refusal)
        else:
            answers.append(_answer_once(write, one.partner, one.opened, one.accepted, one.unreadable))
    write.write(give_way=stop_for_urgent and not cut_short)
    return answers


def receive(node: Node, envelope: dict[str, Any]) -> dict[str, Any]:
    """Verify an envelope from a partner, act on it once, and return the signed answer to send back.

    Raises a ServiceError (audited, nothing recorded) for an envelope that cannot be verified.
    """
    answer = receive_batch(node, [envelope])[0]
    if isinstance(answer, ServiceError):
        raise answer
    return answer


def _answer_once(
    write: _ChunkWrite,
    partner: Partner,
    opened: Opened,
    ahead: _Acceptance | None,
    unreadable: list[dict[str, str]] | None = None,
) -> dict[str, Any] | ServiceError:
    if write.connection.dialect.name == "sqlite":
        # Every SQLite write transaction holds the database's one write lock from its start (BEGIN IMMEDIATE),
        # so no other writer can record the same id between our look-up and our insert: no savepoint needed.
        return _answer(write, partner, opened, ahead, unreadable)
    write.write()  # the earlier envelopes' rows stay out of this envelope's savepoint
    savepoint = write.connection.begin_nested()
    try:
        answer = _answer(write, partner, opened, ahead, unreadable)
        write.write()
    except IntegrityError:
        # Another worker recorded the same envelope id, or stored the same item, after our look-up: read again
        # what it recorded, and answer as a replay or a duplicate.
        savepoint.rollback()
        write.drop()
        write.look_up([opened])
        return _answer(write, partner, opened, ahead, unreadable)
    savepoint.commit()
    return answer


def _answer(
    write: _ChunkWrite,
    partner: Partner,
    opened: Opened,
    ahead: _Acceptance | None,
    unreadable: list[dict[str, str]] | None = None,
) -> dict[str, Any] | ServiceError:
    """The answer to a verified envelope, or the error to refuse it with.

    The error is returned, not raised: raising would roll back its audit entry with the rest of the write.
    """
    seen = write.seen.get(opened.id)
    if seen is not None:
        if seen.sender != opened.sender:
            message = f"the envelope id {opened.id} was already used by another partner"
            write.records.append(AuditRecord("refused-envelope", opened.sender, opened.id, {"code": "id-reused"}))
            return refuse("id-reused", message)
        write.records.append(AuditRecord("replayed-envelope", opened.sender, opened.id, {"kind": opened.kind}))
        return seen.answer
    if unreadable:
        answer = _refused(write, partner, opened, unreadable)
    elif opened.kind == TRANSFER:
        answer = _receive_transfer(write, partner, opened, ahead)
    else:
        handler = HANDLERS.get(opened.kind)
        if handler is None:
            reasons = [{"code": "unsupported-kind", "message": f"this node does not accept {opened.kind!r} envelopes"}]
            answer = _refused(write, partner, opened, reasons)
        else:
            write.write()  # the other handlers write and append to the log themselves
            answer = handler(write.connection, write.node, partner, opened)
            write.forget_world()  # an act or a consent changes it
    write.seen[opened.id] = _Seen(opened.sender, answer)  # the same id again in this batch is a replay
    return answer


def _refused(write: _ChunkWrite, partner: Partner, opened: Opened, reasons: list[dict[str, str]]) -> dict[str, Any]:
    refused = refusal(write.node, partner, opened, reasons)
    write.rows[_INSERT_ENVELOPE].append(refused.row)
    write.records.append(refused.audit)
    return refused.answer


def _receive_transfer(
    write: _ChunkWrite, partner: Partner, opened: Opened, ahead: _Acceptance | None
) -> dict[str, Any]:
    if ahead is not None and ahead.item not in write.stored and write.world() is ahead.world:
        write.take_item(ahead)
        return write.take_answer(opened, ahead)
    node = write.node
    try:
        transfer = read_transfer(node, opened.payload)
    except PayloadError as error:
        return _refused(write, partner, opened, [{"code": error.code, "message": error.message}])
    if transfer.item.originator == node.party:
        problems = handback_problems(write.connection, node.party, opened.payload["report"])
        if problems:
            return _refused(write, partner, opened, problems)
    if transfer.consents:
        write.write()  # consents are read back with the world
        problems = adopt_consents(write.connection, node, transfer.item.originator, transfer.item.id, transfer.consents)
        write.forget_world()
        if problems:
            return _refused(write, partner, opened, problems)
    decision = decide(write.world(), transfer.item, transfer.route[0], transfer.final, opened.sent_at)
    reasons = _disagreements(node, opened, transfer, decision)
    if reasons:
        return _refused(write, partner, opened, reasons)
    return _accepted(write, partner, opened, transfer, decision)


def _disagreements(node: Node, opened: Opened, transfer: Transfer, decision: Decision) -> list[dict[str, str]]:
    """Why this node does not accept the transfer: its own decision's reasons, or a route it does not agree with."""
    if not decision.allowed:
        return [reason.as_dict() for reason in decision.reasons]
    hop = len(transfer.route)
    claimed = [*transfer.route, node.party]
    if transfer.route[-1] != opened.sender or list(decision.route[: hop + 1]) != claimed:
        route = " → ".join(decision.route)
        message = f"this node would route the item {route}, not {' → '.join(claimed)}"
        return [{"code": "route-mismatch", "message": message}]
    leg = decision.legs[hop - 1]
    if leg.under != transfer.under:
        message = f"the transfer claims {transfer.under}, but this node finds it travels under {leg.under}"
        return [{"code": "agreement-mismatch", "message": message}]
    marking = opened.payload.get("marking")
    expected = marking.get("level") if isinstance(marking, dict) else None
    if expected is not None and expected != leg.level:
        # The two nodes' equivalence tables differ: neither marking can be trusted until they agree again.
        message = f"the sender marks the item {expected!r} for this party, but this node finds {leg.level!r}"
        return [{"code": "marking-mismatch", "message": message}]
    return []


def _accepted(
    write: _ChunkWrite, partner: Partner, opened: Opened, transfer: Transfer, decision: Decision
) -> dict[str, Any]:
    """Store the item once (marked in this party's scheme) and, at a hub, queue it for the next leg."""
    node = write.node
    item = transfer.item
    accepted = _acceptance(
        node, opened, transfer, decision, write.world(), write.stored.get((item.originator, item.id))
    )
    write.take_item(accepted)
    if transfer.final != node.party:
        write.write()  # the outbox row names the stored report
        onward = enqueue_transfer(
            write.connection,
            opened.payload["report"],
            decision,
            [*transfer.route, node.party],
            accepted.report_id,
            node.now(),
            transfer.asked_by,
        )
        accepted.receipt["relayed_as"] = onward
        hop = len(transfer.route)
        accepted.audit.append(
            AuditRecord("relay", node.party, accepted.report_id, {"envelope": onward, "to": decision.route[hop + 1]})
        )
    accepted.answer = seal_answer(node, partner, RECEIPT, {"envelope": opened.id, **accepted.receipt})
    return write.take_answer(opened, accepted)


def _acceptance(
    node: Node,
    opened: Opened,
    transfer: Transfer,
    decision: Decision,
    world: World,
    stored: tuple[str, str] | None,
) -> _Acceptance:
    """What accepting a transfer writes and answers; the caller seals the receipt once it is complete.

    `stored`: the id and level of the item if this node holds it already.
    """
    item = transfer.item
    hop = len(transfer.route)
    if stored is None:
        report_id, level = uuid.uuid4().hex, decision.legs[hop - 1].level
        report: dict[str, Any] | None = _report_row(node, opened, transfer, level, report_id)
    else:
        # The same item again under a new envelope id (a sender that lost our receipt, or a second route to
        # this hub): acknowledged, not stored twice.
        (report_id, level), report = stored, None
    received = {
        "envelope": opened.id,
        "originator": item.originator,
        "origin_id": item.id,
        "level": level,
        "under": transfer.under,
        "route": [*transfer.route, node.party],
        "duplicate": stored is not None,
        "asked_by": transfer.asked_by,
    }
    return _Acceptance(
        world=world,
        item=(item.originator, item.id),
        report_id=report_id,
        level=level,
        report=report,
        decision=decision_row(
            report_id, transfer.route[0], transfer.final, instant_text(opened.sent_at), decision, transfer.asked_by
        ),
        receipt={
            "report": item.id,
            "stored_as": report_id,
            "marking": {"originator": item.originator, "level": level},
            "decision": decision.as_dict(),
        },
        audit=[
            AuditRecord("receive", opened.sender, report_id, received),
            AuditRecord(
                "decide",
                node.party,
                report_id,
                decision_summary(transfer.final, decision, transfer.asked_by) | {"from": opened.sender},
            ),
        ],
    )


def _report_row(node: Node, opened: Opened, transfer: Transfer, level: str, report_id: str) -> dict[str, Any]:
    item = transfer.item
    return {
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
        "origin_level": item.label,
    }


# What answers each kind of envelope but transfers (_receive_transfer).
HANDLERS: dict[str, Callable[[Connection, Node, Partner, Opened], dict[str, Any]]] = {
    ACT: receive_act,
    CONSENT: receive_consent,
    CONSENT_REQUEST: receive_request,
    CONSENT_REFUSED: receive_refusal,
    COMPROMISE: receive_compromise,
}
