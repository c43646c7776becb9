"""Term schedules: the same term ends from any thread, at any instant up to the year 9999, without counting."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.unit.worlds import PACT, in_force, world

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pactnet.policy import History, Status, World

THREADS = 8


def daily_world() -> World:
    """An agreement renewed every day: the most term ends a schedule can have."""
    daily = {"timezone": "Europe/Paris", "term": "P1M", "renewal": "P1D", "notice_period": "P2W"}
    return world(in_force("2016-11-23T10:00:00+09:00"), **daily)


def instants(count: int) -> Iterator[datetime]:
    """Instants spread over two centuries, in the order the threads ask about them."""
    start = datetime(2017, 1, 1, tzinfo=UTC)
    for step in range(count):
        yield start + timedelta(days=step * 7, hours=step % 24)


class TestThreads:
    """A world shared by API threads and dispatcher lanes answers every thread as it would answer one."""

    def test_eight_threads_asking_for_term_ends_at_once_all_get_the_term_ends_of_a_single_thread(self) -> None:
        expected_world = daily_world()
        asked = list(instants(2000))
        expected = [expected_world.agreements[PACT].history.status(at) for at in asked]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can, to meet any race
        try:
            for _ in range(5):
                shared = daily_world().agreements[PACT].history
                answers: list[list[Status]] = [[] for _ in range(THREADS)]
                barrier = threading.Barrier(THREADS)

                def ask(index: int, history: History, answers: list[list[Status]], barrier: threading.Barrier) -> None:
                    barrier.wait()
                    answers[index] = [history.status(at) for at in asked]

                arguments = (shared, answers, barrier)
                threads = [threading.Thread(target=ask, args=(index, *arguments)) for index in range(THREADS)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                for got in answers:
                    assert got == expected
        finally:
            sys.setswitchinterval(interval)
