"""Group commit: many writers share transactions, yet each write stands or falls alone."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select

from pactnet.services import audit
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.tables import lifecycle_acts, reports
from pactnet.store.writer import MAX_GIVE_WAY

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection

    from pactnet.node import Node

LAUNCH = Publication(title="launch", level="군사III급비밀", categories=["dprk-missile"])


def run_in_thread(node: Node, job: Callable[[Connection], str], *, urgent: bool) -> threading.Thread:
    thread = threading.Thread(target=node.uow.write, args=(job,), kwargs={"urgent": urgent})
    thread.start()
    return thread


def wait_queued(node: Node, count: int) -> None:
    for _ in range(1000):
        if len(node.uow.writer._routine) + len(node.uow.writer._urgent) >= count:  # noqa: SLF001 - what is queued
            return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} writes were never queued")


# Two notices that make sense together: of two agreements, each by a party of it.
AGREEMENT_NOTIFIED_BY = {"ROK": "USA-ROK-GSOMIA-1987", "USA": "USA-JPN-GSOMIA-2007"}


class TestGroupCommit:
    """Writes handed to the node's writer are durable when the call returns, and isolated from each other."""

    def test_concurrent_publishers_all_land_and_the_log_verifies(self, node: Node) -> None:
        user, _ = add_user(node, "officer", "군사II급비밀", [])
        errors: list[BaseException] = []

        def publisher() -> None:
            try:
                for _ in range(25):
                    publish(node, user, LAUNCH)
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=publisher) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with node.uow.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(reports)).scalar_one() == 200
        result = audit.verify(node)
        assert result.intact
        assert result.entries == 2 + 200 * 3  # node created, user added, then publish and two decisions each

    def test_a_failing_write_is_rolled_back_alone_and_its_caller_gets_the_error(self, node: Node) -> None:
        def good(connection: Connection) -> int:
            connection.execute(
                insert(lifecycle_acts).values(agreement="A", type="t", by="ROK", at="x", recorded_by="u")
            )
            return 1

        def bad(connection: Connection) -> int:
            connection.execute(
                insert(lifecycle_acts).values(agreement="B", type="t", by="ROK", at="x", recorded_by="u")
            )
            raise RuntimeError("refused halfway")

        assert node.uow.write(good) == 1
        with pytest.raises(RuntimeError, match="halfway"):
            node.uow.write(bad)
        with node.uow.engine.connect() as connection:
            stored = connection.execute(select(lifecycle_acts.c.agreement)).scalars().all()
        assert stored == ["A"]


class TestUrgentWrites:
    """An urgent write (a flash report, its delivery) is not kept waiting by routine writes queued before it."""

    @staticmethod
    def _recording(
        order: list[str], name: str, hold: threading.Event | None = None, started: threading.Event | None = None
    ) -> Callable[[Connection], str]:
        def job(connection: Connection) -> str:
            if started is not None:
                started.set()
            if hold is not None:
                assert hold.wait(10)
            connection.execute(
                insert(lifecycle_acts).values(agreement=name, type="t", by="ROK", at="x", recorded_by="u")
            )
            order.append(name)
            return name

        return job

    def _stored(self, node: Node) -> list[str]:
        with node.uow.engine.connect() as connection:
            return list(connection.execute(select(lifecycle_acts.c.agreement).order_by(lifecycle_acts.c.seq)).scalars())

    def test_an_urgent_write_goes_before_routine_writes_queued_ahead_of_it(self, node: Node) -> None:
        order: list[str] = []
        hold, started = threading.Event(), threading.Event()
        threads = [run_in_thread(node, self._recording(order, "busy", hold, started), urgent=False)]
        assert started.wait(10)  # the writer is busy: what follows waits in its queues
        for queued, name in enumerate(("r1", "r2"), start=1):  # one after the other, so that r1 is ahead of r2
            threads.append(run_in_thread(node, self._recording(order, name), urgent=False))
            wait_queued(node, queued)
        threads.append(run_in_thread(node, self._recording(order, "flash"), urgent=True))
        wait_queued(node, 3)
        assert node.uow.writer.urgent_waiting
        hold.set()
        for thread in threads:
            thread.join(10)
        assert order == ["busy", "flash", "r1", "r2"]
        assert sorted(self._stored(node)) == sorted(order)  # and every write was committed
        assert not node.uow.writer.urgent_waiting

    def test_a_routine_batch_is_cut_short_for_an_urgent_write_and_the_rest_follows(self, node: Node) -> None:
        order: list[str] = []
        busy, first_held, first_started = threading.Event(), threading.Event(), threading.Event()
        busy_started = threading.Event()
        threads = [run_in_thread(node, self._recording(order, "busy", busy, busy_started), urgent=False)]
        assert busy_started.wait(10)
        # Three routine writes queue up together: the writer takes them as one batch, one transaction.
        threads.append(run_in_thread(node, self._recording(order, "r1", first_held, first_started), urgent=False))
        wait_queued(node, 1)
        for queued, name in enumerate(("r2", "r3"), start=2):
            threads.append(run_in_thread(node, self._recording(order, name), urgent=False))
            wait_queued(node, queued)
        busy.set()
        assert first_started.wait(10)  # the batch r1, r2, r3 is being written
        threads.append(run_in_thread(node, self._recording(order, "flash"), urgent=True))
        wait_queued(node, 1)
        first_held.set()
        for thread in threads:
            thread.join(10)
        assert order == ["busy", "r1", "flash", "r2", "r3"]
        assert sorted(self._stored(node)) == sorted(order)

    def test_a_routine_write_that_gives_way_is_rolled_back_and_runs_again_after_the_urgent_one(
        self, node: Node
    ) -> None:
        order: list[str] = []
        flashes: list[threading.Thread] = []

        def routine(connection: Connection) -> str:
            self._recording(order, "routine")(connection)
            if not flashes:  # a flash comes in while the first run is writing
                flashes.append(run_in_thread(node, self._recording(order, "flash"), urgent=True))
                wait_queued(node, 1)
            node.uow.writer.give_way_to_urgent()
            return "done"

        assert node.uow.write(routine) == "done"
        flashes[0].join(10)
        assert order == ["routine", "flash", "routine"]
        assert sorted(self._stored(node)) == ["flash", "routine"]  # the first run left nothing behind

    def test_a_routine_write_gives_way_a_bounded_number_of_times(self, node: Node) -> None:
        order: list[str] = []
        flashes: list[threading.Thread] = []

        def routine(connection: Connection) -> str:
            name = f"flash {len(flashes)}"
            flashes.append(run_in_thread(node, self._recording(order, name), urgent=True))
            wait_queued(node, 1)
            node.uow.writer.give_way_to_urgent()  # an urgent write is always waiting
            return self._recording(order, "routine")(connection)

        assert node.uow.write(routine) == "routine"
        for flash in flashes:
            flash.join(10)
        assert len(flashes) == MAX_GIVE_WAY + 1  # it gave way MAX_GIVE_WAY times, then went through
        assert order[:MAX_GIVE_WAY] == [f"flash {number}" for number in range(MAX_GIVE_WAY)]
        assert sorted(self._stored(node)) == sorted(order)
        assert len(order) == MAX_GIVE_WAY + 2

    def test_only_a_routine_write_in_the_writer_gives_way(self, node: Node) -> None:
        hold, started = threading.Event(), threading.Event()
        busy = run_in_thread(node, self._recording([], "busy", hold, started), urgent=False)
        assert started.wait(10)
        flash = run_in_thread(node, self._recording([], "flash"), urgent=True)
        wait_queued(node, 1)
        node.uow.writer.give_way_to_urgent()  # this thread is not the writer's: nothing to roll back
        urgent_ran: list[str] = []

        def urgent(connection: Connection) -> str:
            node.uow.writer.give_way_to_urgent()  # an urgent write never gives way
            return self._recording(urgent_ran, "urgent")(connection)

        second = threading.Thread(target=node.uow.write, args=(urgent,), kwargs={"urgent": True})
        second.start()
        wait_queued(node, 2)
        hold.set()
        for thread in (busy, flash, second):
            thread.join(10)
        assert urgent_ran == ["urgent"]
        assert sorted(self._stored(node)) == ["busy", "flash", "urgent"]

    def test_writes_handed_over_before_close_are_done_and_the_writer_starts_again_after(self, node: Node) -> None:
        order: list[str] = []
        hold, started = threading.Event(), threading.Event()
        threads = [run_in_thread(node, self._recording(order, "busy", hold, started), urgent=False)]
        assert started.wait(10)
        threads += [run_in_thread(node, self._recording(order, "queued"), urgent=True)]
        wait_queued(node, 1)
        closing = threading.Thread(target=node.uow.writer.close)
        closing.start()
        hold.set()
        closing.join(10)
        assert not closing.is_alive()
        for thread in threads:
            thread.join(10)
        assert order == ["busy", "queued"]
        assert node.uow.write(self._recording(order, "after")) == "after"  # a new writer thread takes it
        assert sorted(self._stored(node)) == ["after", "busy", "queued"]


class TestWorldAfterRollback:
    """The world a node decides with holds the acts and consents committed, never those of a write rolled back."""

    @staticmethod
    def _notice(connection: Connection, by: str) -> None:
        connection.execute(
            insert(lifecycle_acts).values(
                agreement=AGREEMENT_NOTIFIED_BY[by],
                type="notify_termination",
                by=by,
                at="2019-07-26T00:00:00.000000Z",
                recorded_by="u",
            )
        )

    @staticmethod
    def _acts_by(node: Node, connection: Connection) -> list[str]:
        node.refresh(connection)
        return [act["by"] for act in node.worlds.acts]

    def test_a_failed_write_takes_its_act_out_of_the_world_though_a_later_one_brings_the_count_back(
        self, node: Node
    ) -> None:
        def failing(connection: Connection) -> None:
            self._notice(connection, "ROK")
            assert self._acts_by(node, connection) == ["ROK"]  # the world read with its own act
            raise RuntimeError("refused after reading the world")

        with pytest.raises(RuntimeError, match="after reading"):
            node.uow.write(failing)
        node.uow.write(lambda connection: self._notice(connection, "USA"))  # as many acts as the world held
        with node.uow.read() as connection:
            assert self._acts_by(node, connection) == ["USA"]

    def test_an_urgent_write_after_a_routine_one_gave_way_decides_without_the_routine_ones_act(
        self, node: Node
    ) -> None:
        seen_by_flash: list[list[str]] = []
        flashes: list[threading.Thread] = []

        def flash(connection: Connection) -> str:
            self._notice(connection, "USA")
            seen_by_flash.append(self._acts_by(node, connection))
            return "flash"

        def routine(connection: Connection) -> str:
            self._notice(connection, "ROK")
            node.refresh(connection)  # as a relay does once it has stored the consents an item carries
            if not flashes:
                flashes.append(run_in_thread(node, flash, urgent=True))
                wait_queued(node, 1)
                node.uow.writer.give_way_to_urgent()
            return "routine"

        assert node.uow.write(routine) == "routine"
        flashes[0].join(10)
        assert seen_by_flash == [["USA"]]  # its own act, not the one rolled back
        with node.uow.read() as connection:
            assert sorted(self._acts_by(node, connection)) == ["ROK", "USA"]
