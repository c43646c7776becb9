"""Waking dispatcher lanes: one idle urgent lane per flash, every lane when none is idle."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from pactnet.wakeups import LaneWaker, LaneWakers

if TYPE_CHECKING:
    from collections.abc import Callable


def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_a_lane_whose_poll_ran_out_is_not_idle_any_more() -> None:
    wakers = LaneWakers(one_at_a_time=True)
    lane, other = wakers.add(), wakers.add()
    lane.wait(0.01)  # nothing rang: the poll runs out
    assert wakers.idle_count == 0
    wakers.ring()  # nobody idle: every lane is told
    assert (lane.is_set(), other.is_set()) == (True, True)


def test_the_longest_idle_lane_is_woken_first() -> None:
    wakers = LaneWakers(one_at_a_time=True)
    first, second = wakers.add(), wakers.add()
    order: list[LaneWaker] = []

    def sleep(lane: LaneWaker) -> None:
        lane.wait(30)
        order.append(lane)

    sleepers = [threading.Thread(target=sleep, args=(lane,)) for lane in (first, second)]
    for sleeper in sleepers:  # one after the other: the first is the longest idle
        asleep = wakers.idle_count
        sleeper.start()
        _until(lambda: wakers.idle_count > asleep)  # noqa: B023 - read at once, in this iteration
    wakers.ring()
    _until(lambda: len(order) == 1)
    assert order == [first]
    assert wakers.idle_count == 1
    wakers.ring()
    for sleeper in sleepers:
        sleeper.join(timeout=10)
    assert order == [first, second]


def test_routine_lanes_are_all_woken() -> None:
    wakers = LaneWakers(one_at_a_time=False)
    lanes = [wakers.add() for _ in range(2)]
    wakers.idle(lanes[0])
    wakers.ring()
    assert [lane.is_set() for lane in lanes] == [True, True]
