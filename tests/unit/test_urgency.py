"""Routine work gives way to urgent work in hand, and never for longer than it is told."""

from __future__ import annotations

import threading
import time

import pytest

from pactnet.urgency import Urgency


def test_nothing_urgent_in_hand_lets_routine_work_go_at_once() -> None:
    urgency = Urgency()
    assert not urgency.pressing
    start = time.monotonic()
    urgency.give_way(longest=5)
    assert time.monotonic() - start < 1  # a wait of 5 s would show


def test_routine_work_waits_until_the_urgent_work_is_done() -> None:
    urgency = Urgency()
    events: list[str] = []
    waiting = threading.Event()

    def routine() -> None:
        waiting.set()
        urgency.give_way(longest=10)
        events.append("routine")

    with urgency.running():
        assert urgency.pressing
        thread = threading.Thread(target=routine)
        thread.start()
        assert waiting.wait(5)
        time.sleep(0.05)  # the routine thread is in give_way now, or about to be: it must not pass
        events.append("urgent done")
    thread.join(5)
    assert events == ["urgent done", "routine"]
    assert not urgency.pressing


def test_nested_and_concurrent_urgent_work_is_counted_until_the_last_ends() -> None:
    urgency = Urgency()
    with urgency.running():
        with urgency.running():
            assert urgency.pressing
        assert urgency.pressing
    assert not urgency.pressing


def test_a_routine_step_waits_no_longer_than_its_limit() -> None:
    urgency = Urgency()
    waited: list[float] = []

    def routine() -> None:
        start = time.monotonic()
        urgency.give_way(longest=0.05)
        waited.append(time.monotonic() - start)

    with urgency.running():
        step = threading.Thread(target=routine)
        step.start()
        step.join(timeout=10)
    assert 0.04 <= waited[0] < 5  # it waited, and it came back although the urgent work was still in hand


def test_urgent_work_that_fails_still_ends() -> None:
    urgency = Urgency()
    with pytest.raises(RuntimeError, match="send failed"), urgency.running():
        raise RuntimeError("the send failed")
    assert not urgency.pressing


def test_urgent_work_never_waits_for_urgent_work_its_own_included() -> None:
    urgency = Urgency()
    seen: list[bool] = []
    with urgency.running():
        start = time.monotonic()
        urgency.give_way(longest=5)
        assert time.monotonic() - start < 1  # a wait of 5 s would show
        assert urgency.urgent_here
        other = threading.Thread(target=lambda: seen.append(urgency.urgent_here))
        other.start()
        other.join()
    assert seen == [False]  # another thread's routine work is not urgent because this one is
    assert not urgency.urgent_here
