"""Property: on a real three-node network, an item reaches only parties someone at the sending node asked for.

Hypothesis draws sequences of publishes (random recipients), originators' consents, consent requests and their
answers, explicit releases and partial dispatcher rounds, on ROK, JPN and USA nodes serving on loopback after
the JPN-ROK GSOMIA ended (ROK and JPN reach each other only through TISA's hub, the USA, with relay consent).
After each sequence the network is let settle, and the test checks, against its own record of who asked what
and the pure policy core's reading of the agreements:

- no node holds an item that no one at the sending node asked for (the publisher's recipients, a granted
  consent request, an explicit release), except the hub that relays an asked-for transfer;
- every transfer queued anywhere is one that was asked for, and says so (`asked_by`);
- every asked-for transfer the agreements (and the consents its sender knew) allow arrived exactly once.

The nodes live for the whole test (one set per database); each example works on items of its own. More
examples by hand:

    PACTNET_RELEASE_EXAMPLES=200 .venv/bin/python -m pytest tests/integration/test_release_properties.py
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pactnet.policy.decisions import decide
from pactnet.policy.model import Consent, Report
from pactnet.store.instants import parse_instant_text
from pactnet.store.outbox import PENDING
from pactnet.store.tables import consents, outbox, reports
from pactnet.world import load_world
from tests.integration.test_consent_compromise import Trio, _trio

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from pactnet.policy.model import World

EXAMPLES = int(os.environ.get("PACTNET_RELEASE_EXAMPLES", "40"))
# How long the network may take to deliver what is pending once a sequence is over (partners in backoff included).
SETTLE_SECONDS = 30.0
WORLD = "gsomia-2019-no-suspension"
AFTER_THE_END = datetime.fromisoformat("2019-11-23T06:00:00+09:00")
PARTIES = ("JPN", "ROK", "USA")
LEVEL = {"ROK": "군사II급비밀", "JPN": "極秘", "USA": "SECRET"}
CATEGORIES = ("dprk-missile", "pla-navy")  # in TISA's scope, and out of it
T = TypeVar("T")
KINDS = (
    "publish",
    "consent",
    "consent",
    "request",
    "request",
    "answer",
    "answer",
    "release",
    "release",
    "round",
    "rounds",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def network(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trio]:
    """The three nodes after the end of the JPN-ROK GSOMIA, shared by every example of a test."""
    yield from _trio(tmp_path, request.param, AFTER_THE_END, WORLD)


def pick(data: st.DataObject, choices: Sequence[T]) -> T:
    """One of `choices`, which depend on the network's state, drawn the same way whatever they are.

    Hypothesis replays a test case by its draws: a draw whose shape depended on the nodes' state (how many
    items a party holds) would make it find the strategy "flaky". An index taken modulo the choices does not.
    """
    return choices[data.draw(st.integers(0, 63)) % len(choices)]


@dataclass(frozen=True)
class Ask:
    """A transfer someone at `sender` asked for: the item, its final recipient, and who asked."""

    sender: str
    origin_id: str
    to: str
    asked_by: str
    expected: bool  # whether the agreements, and the consents the sender knew, allow it


@dataclass
class Run:
    """One example: what it did to the network, and its record of who asked for what."""

    trio: Trio
    world: World
    items: dict[str, Report] = field(default_factory=dict)  # by the id at the originator
    asks: list[Ask] = field(default_factory=list)
    requests: list[tuple[str, str, str, str]] = field(default_factory=list)  # holder, item, to, request id

    def tick(self) -> datetime:
        self.trio.clock.advance(seconds=1)
        return self.trio.clock.at

    def known_consents(self, party: str) -> list[Consent]:
        """The consents `party`'s node knows of, read from its store as statements."""
        with self.trio.nodes[party].uow.engine.connect() as connection:
            statements = [row.statement for row in connection.execute(select(consents.c.statement))]
        return [
            Consent(
                one["report"],
                one["by"],
                one["to"],
                one["arrangement"],
                datetime.fromisoformat(one["at"]),
                None if one["until"] is None else datetime.fromisoformat(one["until"]),
            )
            for one in statements
        ]

    def allows(self, sender: str, origin_id: str, to: str) -> bool:
        """The policy core's reading: may `sender` pass the item to `to` now, with the consents it knows."""
        world = self.world.with_consents(self.known_consents(sender))
        return decide(world, self.items[origin_id], sender, to, self.trio.clock.at).allowed

    def publish(self, data: st.DataObject) -> None:
        originator = pick(data, PARTIES)
        others = [party for party in PARTIES if party != originator]
        recipients = pick(data, [others[:1], others[1:], others])
        category = pick(data, CATEGORIES)
        at = self.tick()
        body = {"title": "Track", "level": LEVEL[originator], "categories": [category], "recipients": recipients}
        published = self.trio.post(originator, "/api/v1/reports", body | {"body": "track", "precedence": "routine"})
        label = LEVEL[originator]
        level = self.world.parties[originator].level_of(label) or label
        report = Report(published["id"], originator, label, level, (category,), frozenset({category}), None, at)
        self.items[published["id"]] = report
        # A recipient's transfer is asked now; whether it may go is read at the end, with every consent granted.
        self.asks += [Ask(originator, published["id"], one, "recipients", expected=False) for one in recipients]

    def consent(self, data: st.DataObject) -> None:
        item = self.items[pick(data, sorted(self.items))]
        others = [party for party in PARTIES if party != item.originator]
        body = pick(data, [{"arrangement": "TISA-2014"}, *({"to": one} for one in others)])
        self.tick()
        self.trio.post(item.originator, f"/api/v1/reports/{item.id}/consents", body)

    def holdings(self, *, received: bool) -> list[tuple[str, Report, str]]:
        """(party, item, id of its copy there) for this run's items a party holds (received ones only, or all)."""
        found = []
        for party in PARTIES:
            with self.trio.nodes[party].uow.engine.connect() as connection:
                query = select(reports.c.origin_id, reports.c.id).where(reports.c.origin_id.in_(self.items))
                found += [(party, self.items[origin_id], held) for origin_id, held in connection.execute(query)]
        found = [one for one in found if not received or one[0] != one[1].originator]
        return sorted(found, key=lambda one: (one[0], one[1].id))

    def request(self, data: st.DataObject) -> None:
        chosen = pick(data, self.holdings(received=True) or [None])
        if chosen is None:
            return
        holder, item, copy = chosen
        to = next(party for party in PARTIES if party not in (holder, item.originator))
        self.tick()
        answer = self.trio.api[holder].post(
            f"/api/v1/reports/{copy}/consent-requests", json={"to": to, "purpose": "tracking"}
        )
        assert answer.status_code in (201, 409), answer.text  # 409: allowed already, or consent would not help
        if answer.status_code == 201:
            self.requests.append((holder, item.id, to, answer.json()["id"]))

    def answer(self, data: st.DataObject) -> None:
        """An originator's operator answers a pending request, once the network has moved on a round."""
        self.rounds(data)
        grant = data.draw(st.booleans())
        pending: list[tuple[str, str] | None] = [
            (party, one["id"])
            for party in PARTIES
            for one in self.trio.get(party, "/api/v1/consent-requests")
            if one["direction"] == "incoming" and one["state"] == "pending" and one["origin_id"] in self.items
        ]
        chosen = pick(data, pending or [None])
        if chosen is None:
            return
        body: dict[str, object] = {"grant": True} if grant else {"grant": False, "reason": "not now"}
        self.tick()
        self.trio.post(chosen[0], f"/api/v1/consent-requests/{chosen[1]}/answer", body, status=200)

    def release(self, data: st.DataObject) -> None:
        holder, item, copy = pick(data, self.holdings(received=False))  # the originator holds every item
        to = pick(data, [party for party in PARTIES if party not in (holder, item.originator)])
        self.tick()
        expected = self.allows(holder, item.id, to)
        answer = self.trio.api[holder].post(f"/api/v1/reports/{copy}/releases", json={"to": to})
        assert answer.status_code in (201, 409), answer.text  # 409: on its way there, or delivered, already
        if answer.status_code == 201:
            assert answer.json()["allowed"] is expected, answer.json()
            self.asks.append(Ask(holder, item.id, to, "release", expected))

    def round(self, data: st.DataObject) -> None:
        """One dispatcher round at one party: part of what is queued goes, the rest waits."""
        self.tick()
        self.trio.dispatch(pick(data, PARTIES))

    def rounds(self, _data: st.DataObject) -> None:
        """One round of every party's dispatcher."""
        self.tick()
        self.trio.dispatch(*PARTIES)

    def settle(self) -> None:
        """Run every dispatcher until no outbox row is pending anywhere, or fail after SETTLE_SECONDS naming them.

        A round that sends nothing does not mean the network is done: a partner that failed once is in backoff
        (`next_at` in the future on the scenario clock, and the dispatcher's own wait in real time), and its rows
        are still pending. So the scenario clock is moved past the earliest retry, and a round that sent nothing
        waits a moment of real time for the backoff to end.
        """
        deadline = time.monotonic() + SETTLE_SECONDS
        while pending := self.pending():
            if time.monotonic() > deadline:
                pytest.fail(f"outbox rows still pending after {SETTLE_SECONDS:.0f} s: " + "; ".join(pending[:20]))
            self.tick()
            earliest = min(self.next_attempts())
            self.trio.clock.at = max(self.trio.clock.at, earliest)
            if sum(self.trio.dispatchers[party].run_once() for party in PARTIES) == 0:
                time.sleep(0.05)

    def pending(self) -> list[str]:
        """Every pending outbox row of every party, said in a few words (whose it is, to whom, why it waits)."""
        found = []
        for party in PARTIES:
            with self.trio.nodes[party].uow.engine.connect() as connection:
                query = select(outbox.c.seq, outbox.c.kind, outbox.c.recipient, outbox.c.attempts, outbox.c.last_error)
                rows = connection.execute(query.where(outbox.c.state == PENDING)).all()
            found += [
                f"{party} #{row.seq} {row.kind} to {row.recipient} ({row.attempts} attempts: {row.last_error})"
                for row in rows
            ]
        return found

    def next_attempts(self) -> list[datetime]:
        """When each pending row is due again, on the scenario clock."""
        due = []
        for party in PARTIES:
            with self.trio.nodes[party].uow.engine.connect() as connection:
                query = select(outbox.c.next_at).where(outbox.c.state == PENDING)
                due += [parse_instant_text(at) for at in connection.execute(query).scalars()]
        return due or [self.trio.clock.at]

    def final_asks(self) -> list[Ask]:
        """Every ask, with what the agreements allow once the network has settled."""
        asks = [
            Ask(one.sender, one.origin_id, one.to, one.asked_by, self.allows(one.sender, one.origin_id, one.to))
            if one.asked_by == "recipients"
            else one
            for one in self.asks
        ]
        for holder, origin_id, to, request_id in self.requests:
            state = next(r["state"] for r in self.trio.get(holder, "/api/v1/consent-requests") if r["id"] == request_id)
            if state == "granted":
                asks.append(Ask(holder, origin_id, to, "consent-request", self.allows(holder, origin_id, to)))
        return asks


def _hubs(world: World, sender: str, to: str) -> set[str]:
    return {arrangement.hub for arrangement in world.relays.get((sender, to), ())}


def _check_holdings(run: Run, asks: list[Ask]) -> None:
    """No node holds an item nobody at the sending node asked for (but the hub of an asked-for relay)."""
    for party in PARTIES:
        with run.trio.nodes[party].uow.engine.connect() as connection:
            query = select(reports.c.origin_id, reports.c.received_from).where(
                reports.c.origin_id.in_(run.items), reports.c.received_from.is_not(None)
            )
            held = list(connection.execute(query))
        for origin_id, came_from in held:
            justified = [
                one
                for one in asks
                if one.origin_id == origin_id
                and (
                    (one.to == party and came_from in {one.sender, *_hubs(run.world, one.sender, party)})
                    or (party in _hubs(run.world, one.sender, one.to) and came_from == one.sender)
                )
            ]
            assert justified, f"{party} holds {origin_id} from {came_from}, which nobody asked for"


def _check_transfers(run: Run, asks: list[Ask]) -> None:
    """Every transfer queued is an asked-for one and says who asked; every allowed ask arrived exactly once."""
    wanted = {(one.sender, one.origin_id, one.to, one.asked_by) for one in asks}
    delivered: dict[tuple[str, str, str], int] = {}
    for party in PARTIES:
        with run.trio.nodes[party].uow.engine.connect() as connection:
            rows = list(connection.execute(select(outbox).where(outbox.c.kind == "transfer")))
        for row in rows:
            item = row.payload["report"]
            if item["id"] not in run.items:
                continue
            sender = row.payload["route"][0]
            assert (sender, item["id"], row.final, row.asked_by) in wanted, (party, row.payload["route"], row.final)
            assert row.payload["asked_by"] == row.asked_by
            if row.state == "delivered" and row.final == row.recipient:
                delivered[(sender, item["id"], row.final)] = delivered.get((sender, item["id"], row.final), 0) + 1
    for one in asks:
        if not one.expected:
            continue
        assert delivered.get((one.sender, one.origin_id, one.to)) == 1, one
        with run.trio.nodes[one.to].uow.engine.connect() as connection:
            query = select(func.count()).select_from(reports).where(reports.c.origin_id == one.origin_id)
            assert connection.execute(query).scalar_one() == 1, one


class TestOnlyAskedForTransfers:
    """Random publishes, consents, requests and releases send an item only where someone asked, exactly once."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def test_no_node_holds_an_unasked_item_and_every_allowed_ask_arrives_once(
        self, network: Trio, data: st.DataObject
    ) -> None:
        run = Run(network, load_world(WORLD))
        run.publish(data)
        for kind in data.draw(st.lists(st.sampled_from(KINDS), min_size=3, max_size=14), label="steps"):
            getattr(run, kind)(data)
        run.settle()
        asks = run.final_asks()
        _check_holdings(run, asks)
        _check_transfers(run, asks)
        network.intact()
        for kind in sorted({one.asked_by for one in asks if one.expected}):
            event(f"an allowed transfer asked by {kind}")  # --hypothesis-show-statistics: what the runs covered
