"""Waking the dispatcher lanes of one process when rows are queued for them.

Every lane woken reads the outbox, and those reads take turns on the interpreter lock with the flash being
published, sent or received. So a flash wakes one idle urgent lane, not all of them: the other one is left for
the next flash, which then need not wait for the first one's answer (two urgent lanes run for that). Routine
rows wake every routine lane, which share a backlog between them. When no lane of the class is idle, every one
is told, so that each looks again before it next waits: a lane that read the outbox just before the rows were
committed must not then sleep for its whole poll.
"""

from __future__ import annotations

import threading


class LaneWaker:
    """What one lane waits on between two rounds."""

    def __init__(self, wakers: LaneWakers) -> None:
        self._wakers = wakers
        self._event = threading.Event()

    def wait(self, timeout: float) -> None:
        """Sleep until woken, `timeout` seconds at most; the lane then reads the outbox again."""
        self._wakers.idle(self)
        self._event.wait(timeout)
        self._wakers.busy(self)
        # Cleared before the lane reads: a wake-up after this is either seen by that read or wakes it again.
        self._event.clear()

    def set(self) -> None:
        """Wake the lane (or keep it from sleeping on its next wait)."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether the lane was woken and has not looked since."""
        return self._event.is_set()

    def clear(self) -> None:
        """Forget a wake-up."""
        self._event.clear()


class LaneWakers:
    """The lanes of one class (urgent, or the others) in this process; `ring` wakes them for new rows."""

    def __init__(self, *, one_at_a_time: bool) -> None:
        self.one_at_a_time = one_at_a_time
        self._lanes: list[LaneWaker] = []
        self._idle: list[LaneWaker] = []  # the longest idle first
        self._lock = threading.Lock()

    def add(self) -> LaneWaker:
        """A waker for a new lane."""
        lane = LaneWaker(self)
        with self._lock:
            self._lanes.append(lane)
        return lane

    def idle(self, lane: LaneWaker) -> None:
        """`lane` is about to sleep."""
        with self._lock:
            self._idle.append(lane)

    def busy(self, lane: LaneWaker) -> None:
        """`lane` is awake (woken, or its poll ran out)."""
        with self._lock:
            if lane in self._idle:
                self._idle.remove(lane)

    @property
    def idle_count(self) -> int:
        """How many lanes are asleep now."""
        with self._lock:
            return len(self._idle)

    def ring(self) -> None:
        """Rows were committed for these lanes: wake one idle lane, or all of them (the rule, or none is idle)."""
        with self._lock:
            chosen = [self._idle.pop(0)] if self.one_at_a_time and self._idle else list(self._lanes)
        for lane in chosen:
            lane.set()
