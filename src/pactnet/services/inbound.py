"""Receiving envelopes from partners: verify, re-decide, store once, answer with a signed receipt or refusal.

An envelope that cannot be verified (unknown sender, forged signature, wrong recipient, stale, altered) is not
answered with an envelope: nothing proves who would read it. It is audited and refused with a `ServiceError`
whose details carry the stable code, and its id is not recorded, so a forger cannot claim ids. An envelope that
verifies is recorded in `envelopes` with its signed answer, in the same transaction as what it brought, and a
replay of its id gets that same answer (docs/federation.md, "Receiving").
"""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from pactnet.audit.chain import AuditRecord
from pactnet.services import ServiceError
from pactnet.services.acceptance import receive_transfer
from pactnet.services.acts import ACT, receive_act
from pactnet.services.chunk_write import ChunkWrite, Seen, refused
from pactnet.services.compromises import COMPROMISE, receive_compromise
from pactnet.services.consent_requests import CONSENT_REFUSED, CONSENT_REQUEST, receive_refusal, receive_request
from pactnet.services.consents import CONSENT
from pactnet.services.envelope_checks import Checked, Partners, check
from pactnet.services.releases import receive_consent
from pactnet.services.unopened import refuse
from pactnet.store.outbox import TRANSFER

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.services.context import Node

# Envelopes of a batch written per transaction (see receive_batch): half a sender's batch (dispatch_batch is 128
# by default). Each transaction costs a commit (an fsync), a look-up and an audit head signed; chunks of 8 cost
# the receiver a tenth to a fifth of its CPU. A flash does not wait for a long chunk: it stops at the next envelope.
WRITE_CHUNK = 64


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
        partners = Partners(node)
        checked: list[Checked] = []
        urgent = False
        for envelope in batch:
            if not urgent:
                node.uow.urgency.give_way()  # a routine envelope opens after the flash in hand is stored
            one = check(node, envelope, partners)
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
    node: Node, chunk: list[Checked], connection: Connection, *, stop_for_urgent: bool
) -> list[dict[str, Any] | ServiceError]:
    """Record verified envelopes and their answers, in one transaction.

    A routine chunk stops after the envelope in hand when an urgent write is waiting for the writer (a flash
    arriving meanwhile waits for one envelope, not the whole chunk); the caller writes the rest next. One that
    comes in once the envelopes are answered, while their rows are inserted, is let through between two
    statements: the chunk is rolled back and runs again after it (nothing of it was committed, its answers are
    worked out anew).
    """
    answers: list[dict[str, Any] | ServiceError] = []
    write = ChunkWrite(node, connection)
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
            answers.append(_answer_once(write, one.partner, one.opened, one))
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
    write: ChunkWrite, partner: Partner, opened: Opened, checked: Checked
) -> dict[str, Any] | ServiceError:
    if write.connection.dialect.name == "sqlite":
        # Every SQLite write transaction holds the database's one write lock from its start (BEGIN IMMEDIATE),
        # so no other writer can record the same id between our look-up and our insert: no savepoint needed.
        return _answer(write, partner, opened, checked)
    write.write()  # the earlier envelopes' rows stay out of this envelope's savepoint
    savepoint = write.connection.begin_nested()
    try:
        answer = _answer(write, partner, opened, checked)
        write.write()
    except IntegrityError:
        # Another worker recorded the same envelope id, or stored the same item, after our look-up: read again
        # what it recorded, and answer as a replay or a duplicate.
        savepoint.rollback()
        write.drop()
        write.look_up([opened])
        return _answer(write, partner, opened, checked)
    savepoint.commit()
    return answer


def _answer(write: ChunkWrite, partner: Partner, opened: Opened, checked: Checked) -> dict[str, Any] | ServiceError:
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
    if checked.unreadable:
        answer = refused(write, partner, opened, checked.unreadable)
    elif opened.kind == TRANSFER:
        answer = receive_transfer(write, partner, opened, checked.accepted)
    else:
        handler = HANDLERS.get(opened.kind)
        if handler is None:
            reasons = [{"code": "unsupported-kind", "message": f"this node does not accept {opened.kind!r} envelopes"}]
            answer = refused(write, partner, opened, reasons)
        else:
            write.write()  # the other handlers write and append to the log themselves
            answer = handler(write.connection, write.node, partner, opened)
            write.forget_world()  # an act or a consent changes it
    write.seen[opened.id] = Seen(opened.sender, answer)  # the same id again in this batch is a replay
    return answer


# What answers each kind of envelope but transfers (_receive_transfer).
HANDLERS: dict[str, Callable[[Connection, Node, Partner, Opened], dict[str, Any]]] = {
    ACT: receive_act,
    CONSENT: receive_consent,
    CONSENT_REQUEST: receive_request,
    CONSENT_REFUSED: receive_refusal,
    COMPROMISE: receive_compromise,
}
