"""Flash traffic first inside a node: its own dispatcher lanes and wake-ups, and a receiver that lets it by."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from pactnet.federation.dispatcher import Dispatcher
from pactnet.services import ServiceError, audit
from pactnet.services.inbound import receive_batch
from pactnet.services.reports import Publication, publish_many
from pactnet.services.users import add_user
from pactnet.store.tables import envelopes
from tests.integration.test_inbound import Pair, pair_of_nodes, transfer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from pactnet.wakeups import LaneWaker
    from tests.integration.conftest import Clock


@pytest.fixture
def pair(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Pair]:
    """ROK and JPN on the GSOMIA world on 25 July 2019, ROK on each kind of database, JPN on SQLite."""
    yield from pair_of_nodes(tmp_path, database_url, None, "gsomia-2019", clock)


def _sleep(lane: LaneWaker, woken: queue.Queue[LaneWaker]) -> None:
    """A lane with nothing to do: it sleeps until woken (or a long poll runs out) and says so."""
    lane.wait(30)
    woken.put(lane)


def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _reports(precedence: str, count: int) -> list[Publication]:
    return [
        Publication(f"{precedence} {n}", "군사II급비밀", ["dprk-missile"], precedence=precedence, recipients=["JPN"])
        for n in range(count)
    ]


class TestWakeUps:
    """A write to the outbox wakes only the lanes that have something new: each lane woken reads the outbox."""

    def test_a_flash_wakes_the_urgent_lanes_and_a_routine_report_the_others(self, pair: Pair) -> None:
        user, _ = add_user(pair.rok, "officer", "군사II급비밀", [])
        urgent, general = pair.rok.uow.outbox_waker(urgent=True), pair.rok.uow.outbox_waker(urgent=False)

        publish_many(pair.rok, user, _reports("flash", 1))
        assert (urgent.is_set(), general.is_set()) == (True, False)

        urgent.clear()
        publish_many(pair.rok, user, _reports("routine", 2))
        assert (urgent.is_set(), general.is_set()) == (False, True)

        general.clear()
        publish_many(pair.rok, user, _reports("immediate", 1) + _reports("priority", 1))
        assert (urgent.is_set(), general.is_set()) == (True, True)

    def test_each_flash_wakes_one_idle_urgent_lane(self, pair: Pair) -> None:
        user, _ = add_user(pair.rok, "officer", "군사II급비밀", [])
        lanes = [pair.rok.uow.outbox_waker(urgent=True) for _ in range(2)]
        woken: queue.Queue[LaneWaker] = queue.Queue()
        sleepers = [threading.Thread(target=_sleep, args=(lane, woken)) for lane in lanes]
        for sleeper in sleepers:
            sleeper.start()
        try:
            _until(lambda: pair.rok.uow.outbox_wakers[True].idle_count == len(lanes))
            publish_many(pair.rok, user, _reports("flash", 1))
            first = woken.get(timeout=10)
            time.sleep(0.2)  # time for a second lane to wake, were it woken too
            assert woken.empty()
            publish_many(pair.rok, user, _reports("flash", 1))  # the next flash: the lane still idle
            assert woken.get(timeout=10) is not first
        finally:
            for lane in lanes:
                lane.set()
            for sleeper in sleepers:
                sleeper.join()

    def test_a_flash_wakes_every_urgent_lane_when_none_is_idle(self, pair: Pair) -> None:
        # A lane that read the outbox just before the flash was committed must look again before it sleeps.
        user, _ = add_user(pair.rok, "officer", "군사II급비밀", [])
        lanes = [pair.rok.uow.outbox_waker(urgent=True) for _ in range(2)]
        publish_many(pair.rok, user, _reports("flash", 1))
        assert [lane.is_set() for lane in lanes] == [True, True]

    def test_a_report_with_no_allowed_transfer_wakes_no_lane(self, pair: Pair) -> None:
        user, _ = add_user(pair.rok, "officer", "군사II급비밀", [])
        urgent, general = pair.rok.uow.outbox_waker(urgent=True), pair.rok.uow.outbox_waker(urgent=False)
        nowhere = Publication("kept at home", "군사II급비밀", ["dprk-missile"], precedence="flash", recipients=[])
        publish_many(pair.rok, user, [nowhere])
        assert (urgent.is_set(), general.is_set()) == (False, False)


class TestLanes:
    """On SQLite, urgent lanes and the others take disjoint rows, and no row is taken twice while in flight."""

    def test_lanes_take_their_own_rows_and_none_twice(self, pair: Pair) -> None:
        if pair.rok.uow.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL dispatchers take rows FOR UPDATE SKIP LOCKED (test_federation covers them)")
        user, _ = add_user(pair.rok, "officer", "군사II급비밀", [])
        publish_many(pair.rok, user, _reports("routine", 2) + _reports("flash", 3) + _reports("immediate", 1))
        pair.rok.config = replace(pair.rok.config, dispatch_batch=2)
        dispatcher = Dispatcher(pair.rok)
        try:
            with pair.rok.uow.reader.connect() as connection, connection.begin():
                first = dispatcher._due(connection, urgent=True)  # noqa: SLF001 - what one lane takes
                second = dispatcher._due(connection, urgent=True)  # noqa: SLF001
                third = dispatcher._due(connection, urgent=True)  # noqa: SLF001
                routine = dispatcher._due(connection, urgent=False, skip_urgent=True)  # noqa: SLF001
                rest = dispatcher._due(connection, urgent=False)  # noqa: SLF001 - every rank, as tests call it
        finally:
            dispatcher.client.close()
        ranks = {row.seq: row.rank for row in first + second + third + routine}
        assert [row.rank for row in first] == [0, 0]  # flash first, oldest first
        assert [row.rank for row in second] == [0, 1]
        assert third == []  # every urgent row is in flight
        assert [row.rank for row in routine] == [3, 3]
        assert rest == []  # nothing left that is not in flight
        assert len(ranks) == 6  # no row taken twice

    def test_rows_taken_in_a_round_of_every_rank_are_left_alone_by_the_urgent_lanes(self, pair: Pair) -> None:
        if pair.rok.uow.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL dispatchers take rows FOR UPDATE SKIP LOCKED (test_federation covers them)")
        user, _ = add_user(pair.rok, "officer", "군사II급비밀", [])
        publish_many(pair.rok, user, _reports("flash", 3))
        pair.rok.config = replace(pair.rok.config, dispatch_batch=2)
        dispatcher = Dispatcher(pair.rok)
        try:
            with pair.rok.uow.reader.connect() as connection, connection.begin():
                every = dispatcher._due(connection, urgent=False)  # noqa: SLF001 - a round of every rank
                urgent = dispatcher._due(connection, urgent=True)  # noqa: SLF001 - an urgent lane beside it
        finally:
            dispatcher.client.close()
        assert (len(every), len(urgent)) == (2, 1)
        assert not {row.seq for row in every} & {row.seq for row in urgent}


class TestReceiverGivesWay:
    """A routine batch cut short for urgent writes (pactnet.urgency) still answers every envelope once, in order."""

    def test_a_routine_batch_written_among_urgent_writes_is_answered_whole_and_stored_once(self, pair: Pair) -> None:
        items = [transfer(body=f"routine {n}") for n in range(20)]
        for item in items:
            item["report"]["precedence"] = "routine"
        batch = [pair.envelope(item) for item in items]
        stop = threading.Event()

        def urgent_writes() -> None:
            while not stop.is_set():
                pair.jpn.uow.write(lambda connection: connection.execute(select(1)), urgent=True)

        hammer = threading.Thread(target=urgent_writes)
        hammer.start()
        try:
            answers = receive_batch(pair.jpn, batch)
        finally:
            stop.set()
            hammer.join(10)
        assert not any(isinstance(answer, ServiceError) for answer in answers)
        opened = [pair.open_answer(answer) for answer in answers if not isinstance(answer, ServiceError)]
        assert [(one["kind"], one["envelope"]) for one in opened] == [("receipt", env["id"]) for env in batch]
        assert pair.stored() == 20
        with pair.jpn.uow.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(envelopes)).scalar_one() == 20
        # and a replay of the whole batch is answered the same, storing nothing more
        again = receive_batch(pair.jpn, batch)
        assert [pair.open_answer(answer)["envelope"] for answer in again if not isinstance(answer, ServiceError)] == [
            env["id"] for env in batch
        ]
        assert pair.stored() == 20
        assert audit.verify(pair.jpn).intact  # the chunks rolled back for urgent writes left no trace
