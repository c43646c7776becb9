"""The dispatcher: sends the outbox to partner nodes, most urgent first, until delivered, refused or cancelled.

Lanes run in each dispatcher: an urgent lane that takes only flash and immediate traffic (and notices), and
GENERAL_LANES lanes that take the rest (priority, then routine), oldest first, leaving the urgent rows to the
urgent lane. A flash report therefore never waits behind a batch of routine reports already on the wire, nor
rides in one. (`run_once()` without arguments, which tests call, takes everything in order of precedence.)

Before each attempt a transfer is decided again at that instant: if the agreement it travels under has ended
(or its route no longer holds), it is cancelled and the cancellation is audited with its reasons; if the core
now finds another route for an item this node holds, the item is sent that way instead, as a new decision.

Exactly once: the envelope id is fixed when the row is written and the receiver answers a known id as a replay,
so sending again after a crash delivers nothing twice. On PostgreSQL, several dispatchers (one per API worker)
share the outbox: each takes its rows `FOR UPDATE SKIP LOCKED` and holds them until their outcome is written,
so two never send the same row, and a dead one's locks go with its connection. On SQLite one dispatcher runs
per node (pactnet.federation.service holds a lock file for it), and its lanes never take the same row.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from pactnet.crypto.envelope import MAX_SKEW, EnvelopeError, open_envelope, seal
from pactnet.errors import PayloadError
from pactnet.federation.client import PartnerClient, PartnerUnreachableError, request_limit, requests_within
from pactnet.federation.partners import PartnerError
from pactnet.logs import note
from pactnet.policy.answers import Code
from pactnet.policy.decisions import decide
from pactnet.policy.precedence import URGENT_RANK
from pactnet.services import outage
from pactnet.services.answers import RECEIPT, REFUSAL
from pactnet.services.delivery import Outcome, settle
from pactnet.services.transfer_payload import read_transfer
from pactnet.store.acts import statements_for
from pactnet.store.instants import instant_text, parse_instant_text
from pactnet.store.outbox import CANCELLED, DELIVERED, PENDING, REFUSED, TRANSFER, restore_body
from pactnet.store.tables import outbox, reports

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Connection, Row, Select

    from pactnet.federation.partners import Partner, PartnerRegistry
    from pactnet.policy.answers import Reason
    from pactnet.policy.model import World
    from pactnet.services.context import Node
    from pactnet.wakeups import LaneWaker

log = logging.getLogger(__name__)
# How long an idle lane sleeps before looking again (rows written by another process wake nobody here).
IDLE_POLL = 0.25
# Lanes for the traffic that is not urgent, run by `start` beside the urgent lane. With one, the partner sat idle
# while this node sealed the next batch and settled the last one; with two, one batch is being answered while
# the other is sealed or settled (their rows are kept apart as two dispatchers' are: _inflight, SKIP LOCKED).
GENERAL_LANES = 2
# Urgent lanes: with one, a flash published while the last one was still on the wire waited for its answer and
# settle before it was even taken (under load, most of its latency); with two, it is taken at once.
URGENT_LANES = 2
# Rows settled per write on SQLite: the node's one writer runs writes in turn, and a flash's publish or settle
# queued behind the settle of a whole batch of routine rows waited for all of it.
SETTLE_CHUNK = 16
# The outbox with the body of the report each row names: a transfer is written without it
# (pactnet.store.outbox.transfer_row), and sent with it.
_OUTBOX_WITH_BODIES = select(outbox, reports.c.body.label("held_body")).outerjoin(
    reports, reports.c.id == outbox.c.report_id
)


@dataclass(slots=True)
class _Backoff:
    failures: int = 0
    until: float = 0.0


class Dispatcher:
    """Sends a node's outbox; `start` runs it in two threads, `run_once` runs one round (tests call it)."""

    def __init__(self, node: Node, client: PartnerClient | None = None, rng: random.Random | None = None) -> None:
        self.node = node
        self.client = client or PartnerClient()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.postgres = node.uow.is_postgresql
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # Rows taken and not yet settled (SQLite), kept per class of lane: the urgent lanes and the others never
        # take the same rows, so an urgent lane never waits while a routine lane looks for its next batch.
        self._taking = {True: threading.Lock(), False: threading.Lock()}
        self._inflight: dict[bool, set[int]] = {True: set(), False: set()}
        self._backoff: dict[str, _Backoff] = {}
        self._threads: list[threading.Thread] = []
        self._wakers: list[LaneWaker] = []

    def start(self) -> None:
        """Run the lanes in the background."""
        for number, urgent in enumerate((*[True] * URGENT_LANES, *[False] * GENERAL_LANES)):
            waker = self.node.uow.outbox_waker(urgent=urgent)
            thread = threading.Thread(
                target=self._lane, args=(urgent, waker), name=f"pactnet-dispatch-{'urgent-' if urgent else ''}{number}"
            )
            thread.daemon = True
            self._wakers.append(waker)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Finish the round in progress and stop."""
        self._stop.set()
        for waker in self._wakers:
            waker.set()
        for thread in self._threads:
            thread.join()
        self.client.close()

    def _lane(self, urgent: bool, waker: LaneWaker) -> None:
        while not self._stop.is_set():
            try:
                # Beside an urgent lane, the others leave it the urgent rows: a flash taken into a batch of
                # routine rows would wait for the whole batch to be answered and settled.
                handled = self.run_once(urgent=urgent, skip_urgent=not urgent)
            except outage.OUTAGES as error:
                # The database restarting, full, or a transaction chosen as a deadlock's victim (two workers
                # settling at once on PostgreSQL): a condition to wait out, told in one line without the stack,
                # as the API tells it. Nothing is lost: the rows stay pending and are taken again.
                note(log, "dispatcher-round-failed", logging.WARNING, cause=outage.cause(error))
                handled = 0
                self._stop.wait(1.0)
            except Exception:
                # Anything else is a defect to read in full; it must not end the lane either.
                log.exception("dispatcher round failed; retrying")
                handled = 0
                self._stop.wait(1.0)
            if handled == 0:
                waker.wait(IDLE_POLL)

    def run_once(self, *, urgent: bool = False, skip_urgent: bool = False) -> int:
        """Send one batch of due rows (only urgent ones, or none of them); the number of rows it settled or tried."""
        # The urgent lanes' work goes ahead of routine work in this process; the other lanes give way to it.
        in_hand = self.node.uow.urgency.running() if urgent else nullcontext()
        if self._every_partner_backing_off():
            # No row can be due: not even a transaction is opened. Each commit wakes the lanes, and each wake-up
            # that read the outbox for nothing cost a connection, a transaction and a query (bench/README.md).
            return 0
        if self.postgres:  # the rows stay locked (FOR UPDATE SKIP LOCKED) while they are sent and settled
            with self.node.uow.transaction() as connection:
                rows = self._due(connection, urgent=urgent, skip_urgent=skip_urgent)
                if not rows:
                    return 0
                with in_hand:
                    carried = statements_for(connection, _items(rows))
                    world = self.node.refresh(connection, committed=True)  # it has only locked rows so far
                    outcomes = self._attempt(rows, world, carried, urgent=urgent)
                    self._settle(connection, outcomes)
            return len(rows)
        with self.node.uow.read() as connection, connection.begin():
            rows = self._due(connection, urgent=urgent, skip_urgent=skip_urgent)
            world = self.node.refresh(connection) if rows else self.node.world
            carried = statements_for(connection, _items(rows))
        if not rows:
            return 0
        try:
            with in_hand:
                outcomes = self._attempt(rows, world, carried, urgent=urgent)
                for start in range(0, len(outcomes), SETTLE_CHUNK):
                    if not urgent:
                        self.node.uow.urgency.give_way()
                    chunk = outcomes[start : start + SETTLE_CHUNK]
                    self.node.uow.write(partial(self._settle, outcomes=chunk), urgent=urgent)
        finally:
            self._release(rows)
        return len(rows)

    def _backing_off(self) -> list[str]:
        """The partners this dispatcher waits for before it tries them again."""
        now = time.monotonic()
        with self._lock:
            return [party for party, backoff in self._backoff.items() if backoff.until > now]

    def _every_partner_backing_off(self) -> bool:
        """Whether every partner is backing off, so that no row can be due.

        A wake-up that read the outbox then walked every pending row to find none: 16 ms of CPU with 20,000
        pending (bench/README.md, "TAXII").
        """
        down = self._backing_off()
        return bool(down) and set(down) >= set(self.node.world.parties) - {self.node.party}

    def _due(self, connection: Connection, *, urgent: bool, skip_urgent: bool = False) -> list[Row[Any]]:
        down = self._backing_off()
        at = self.node.now()
        # A row is due at its next_at. One due later than any backoff of this node schedules was written while the
        # clock was ahead, and the clock has been set back since (as NTP steps it): it is due now, or the outbox
        # would stall for as long as the clock had been wrong.
        latest = at + timedelta(milliseconds=self.node.config.retry_longest_ms)
        due = or_(outbox.c.next_at <= instant_text(at), outbox.c.next_at > instant_text(latest))
        query = (
            _OUTBOX_WITH_BODIES.where(outbox.c.state == PENDING, due)
            .order_by(outbox.c.rank, outbox.c.seq)
            .limit(self.node.config.dispatch_batch)
        )
        if urgent:
            query = query.where(outbox.c.rank <= URGENT_RANK)
        elif skip_urgent:
            query = query.where(outbox.c.rank > URGENT_RANK)
        if down:
            query = query.where(outbox.c.recipient.not_in(down))
        if self.postgres:  # the outbox rows locked, not the reports they name
            rows = list(connection.execute(query.with_for_update(of=outbox, skip_locked=True)).all())
        elif urgent or skip_urgent:
            with self._taking[urgent]:
                rows = _not_taken(connection, query, self._inflight[urgent])
                self._inflight[urgent].update(row.seq for row in rows)
        else:
            with self._taking[True], self._taking[False]:  # every rank (tests, one lane alone): none any lane holds
                rows = _not_taken(connection, query, self._inflight[True] | self._inflight[False])
                for row in rows:
                    self._inflight[row.rank <= URGENT_RANK].add(row.seq)
        for row in rows:
            if row.kind == TRANSFER:
                restore_body(row.payload, row.held_body)
        return rows

    def _release(self, rows: Sequence[Row[Any]]) -> None:
        """The rows are settled (or left for a later round): any lane may take them again."""
        seqs = {row.seq for row in rows}
        for urgent, lock in self._taking.items():
            with lock:
                self._inflight[urgent].difference_update(seqs)

    def _attempt(
        self, rows: Sequence[Row[Any]], world: World, carried: dict[tuple[str, str], list[Any]], *, urgent: bool
    ) -> list[Outcome]:
        """Decide each row again, send what still holds, and read the answers."""
        outcomes: list[Outcome] = []
        sending: dict[str, list[Row[Any]]] = {}
        now = self.node.now()
        for row in rows:
            cancelled = self._cancelled(row, world, now) if row.kind == TRANSFER else None
            if cancelled is not None:
                outcomes.append(cancelled)
            else:
                sending.setdefault(row.recipient, []).append(row)
        if not sending:
            return outcomes
        try:
            registry: PartnerRegistry | None = self.node.partners()
        except PartnerError as error:
            registry = None
            problem = f"partners.toml: {error}"
        for recipient, group in sending.items():
            partner = registry.get(recipient) if registry is not None else None
            if partner is None:
                why = problem if registry is None else f"{recipient} is not a trusted partner (pactnet node trust)"
                outcomes += self._retry(recipient, [(row, why) for row in group])
                continue
            outcomes += self._send(partner, group, carried, urgent=urgent)
        return outcomes

    def _cancelled(self, row: Row[Any], world: World, now: datetime) -> Outcome | None:
        """The cancellation of a transfer that no longer holds at `now`; None if it may go.

        An item that does not exist yet by this clock is postponed instead (`_not_yet`).
        """
        try:
            transfer = read_transfer(self.node, row.payload)
        except PayloadError as error:
            return Outcome(row, CANCELLED, {"reasons": [{"code": error.code, "message": error.message}]})
        route = transfer.route
        decision = decide(world, transfer.item, route[0], row.final, now)
        if any(reason.code == Code.REPORT_NOT_CREATED for reason in decision.reasons):
            return self._not_yet(row, decision.reasons, transfer.item.created, now)
        hop = len(route)
        if (
            decision.allowed
            and list(decision.route[: hop + 1]) == [*route, row.recipient]
            and decision.legs[hop - 1].under == row.under
        ):
            return None
        if decision.allowed:
            path = " → ".join(decision.route)
            reasons = [
                {
                    "code": "route-changed",
                    "message": f"{row.under} no longer carries it to {row.recipient}: it would now travel {path}",
                }
            ]
        else:
            reasons = [reason.as_dict() for reason in decision.reasons]
        reroute = decision if decision.allowed and route == [self.node.party] else None
        return Outcome(row, CANCELLED, {"reasons": reasons, "at": instant_text(now)}, reroute=reroute)

    def _not_yet(self, row: Row[Any], reasons: Sequence[Reason], created: datetime | None, now: datetime) -> Outcome:
        """A transfer of an item created after this node's `now`: postponed, not cancelled.

        Such an item was made by a clock ahead of this one: this node's, set back since (as NTP steps a clock), or
        the originator's, at a hub whose clock is behind it (by less than MAX_SKEW, or the envelope would have
        been stale). It may not be shared before it exists (docs/reasons.md, `report-not-created`), but it is not
        to be lost either: it is tried again at its `created` instant, or after the longest backoff, whichever is
        sooner, and decided again then.
        """
        longest = now + timedelta(milliseconds=self.node.config.retry_longest_ms)
        retry_at = min(longest, created) if created is not None else longest
        why = "; ".join(reason.message for reason in reasons)
        return Outcome(row, PENDING, {"next_at": instant_text(retry_at)}, error=f"not sent yet: {why}"[:2000])

    def _send(
        self, partner: Partner, rows: list[Row[Any]], carried: dict[tuple[str, str], list[Any]], *, urgent: bool
    ) -> list[Outcome]:
        node = self.node
        now = node.now()
        envelopes = []
        for row in rows:
            if not urgent:
                node.uow.urgency.give_way()
            payload = row.payload
            statements = carried.get(_item_of(row)) if row.kind == TRANSFER else None
            if statements:  # the originator's consents known here travel with the item (pactnet.services.consents)
                payload = payload | {"consents": statements}
            envelopes.append(
                seal(
                    node.keys,
                    node.party,
                    partner.party,
                    partner.encryption_key,
                    row.kind,
                    payload,
                    now,
                    row.envelope_id,
                )
            )
        # The partner takes requests up to request_limit of its max_body_bytes, taken to be ours: a batch of
        # large reports goes in as many requests as it takes.
        answers: list[dict[str, Any]] = []
        unreachable = ""  # why the requests after the last answered one were not (none, if all were)
        for part in requests_within(envelopes, request_limit(node.config.max_body_bytes)):
            try:
                answers += self.client.post(partner.url, part, urgent=urgent, tls=partner.tls)
            except PartnerUnreachableError as error:
                unreachable = str(error)
                break
        if answers:
            with self._lock:
                self._backoff.pop(partner.party, None)
        outcomes: list[Outcome] = []
        failed = [(row, unreachable) for row in rows[len(answers) :]]
        for row, answer in zip(rows[: len(answers)], answers, strict=True):
            if not urgent:
                node.uow.urgency.give_way()
            read = self._read_answer(partner, row, answer)
            if isinstance(read, Outcome):
                outcomes.append(read)
            else:
                failed.append((row, read))
        # However many envelopes of the batch were not taken, it is one more failure of this partner.
        return outcomes + self._retry(partner.party, failed) if failed else outcomes

    def _read_answer(self, partner: Partner, row: Row[Any], answer: dict[str, Any]) -> Outcome | str:
        """The outcome of a row from the partner's answer, or why the answer settles nothing."""
        sealed = answer.get("envelope")
        if not isinstance(sealed, dict):
            error = answer.get("error")
            message = f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict) else "no answer"
            return f"{partner.party} did not accept the envelope: {message}"
        # A partner answers an envelope it already took with the answer it signed then (docs/federation.md), which
        # may be as old as the row (a sender down for a while after it sent). The answer names the row's envelope
        # id, so its age proves nothing wrong: allow the row's age on top of the usual skew.
        now = self.node.now()
        skew = max(MAX_SKEW, now - parse_instant_text(row.created_at) + MAX_SKEW)
        try:
            opened = open_envelope(self.node.keys, self.node.party, sealed, partner.signing_key, now, skew)
        except EnvelopeError as error:
            return f"the answer from {partner.party} does not verify: {error}"
        if opened.sender != partner.party or opened.payload.get("envelope") != row.envelope_id:
            return f"{partner.party} answered another envelope"
        if opened.kind == RECEIPT:
            return Outcome(row, DELIVERED, opened.payload, sealed)
        if opened.kind == REFUSAL:
            return Outcome(row, REFUSED, opened.payload, sealed)
        return f"{partner.party} answered with a {opened.kind!r}"

    def _retry(self, party: str, failed: list[tuple[Row[Any], str]]) -> list[Outcome]:
        """Back off from a partner that could not take the rows: doubling delays with jitter, up to the longest."""
        config = self.node.config
        with self._lock:
            backoff = self._backoff.setdefault(party, _Backoff())
            backoff.failures += 1
            ceiling = min(config.retry_longest_ms, config.retry_first_ms * 2 ** min(backoff.failures - 1, 30))
            delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)  # "equal jitter"
            backoff.until = time.monotonic() + delay / 1000
        retry_at = instant_text(self.node.now() + timedelta(milliseconds=delay))
        return [Outcome(row, PENDING, {"next_at": retry_at}, error=why[:2000]) for row, why in failed]

    def _settle(self, connection: Connection, outcomes: list[Outcome]) -> None:
        """Write what became of each row (services.delivery), and tell the operator's log what went wrong."""
        for outcome in settle(connection, self.node, outcomes):
            _note_outcome(outcome)


def _not_taken(connection: Connection, query: Select[Any], taken: set[int]) -> list[Row[Any]]:
    if taken:
        query = query.where(outbox.c.seq.not_in(taken))
    return list(connection.execute(query).all())


def _item_of(row: Row[Any]) -> tuple[str, str]:
    report = row.payload.get("report") or {}
    return (str(report.get("originator")), str(report.get("id")))


def _items(rows: Sequence[Row[Any]]) -> set[tuple[str, str]]:
    return {_item_of(row) for row in rows if row.kind == TRANSFER}


def _note_outcome(outcome: Outcome) -> None:
    """The operator's log of a failed attempt, and of a transfer a partner refused or this node cancelled."""
    row = outcome.row
    if outcome.state == PENDING:
        note(log, "delivery-failed", logging.WARNING, partner=row.recipient, envelope=row.envelope_id,
             attempts=row.attempts + 1, retry_at=outcome.detail["next_at"], cause=outcome.error)  # fmt: skip
        return
    if outcome.state not in {REFUSED, CANCELLED}:
        return
    codes = [reason.get("code") for reason in outcome.detail.get("reasons", []) if isinstance(reason, dict)]
    event = "refused-by-partner" if outcome.state == REFUSED else "transfer-cancelled"
    note(log, event, logging.WARNING, partner=row.recipient, envelope=row.envelope_id, kind=row.kind, codes=codes)
