"""Urgent work first, inside one process: routine work gives way while a flash or immediate item is in hand.

A node's threads share one interpreter lock and two cores with the partner's node. While a launch report is
being published, sent or received, the threads that seal, open and store routine batches would take their
turns on the lock between every step of it, and each turn is milliseconds. So the urgent work marks itself
(`running`), and routine loops call `give_way` between two items: it returns at once when nothing urgent is in
hand, and otherwise waits until it is done, or GIVE_WAY_LONGEST at most, so that routine traffic slows under a
stream of flashes but never stops.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

# The longest a routine step waits for urgent work in one go.
GIVE_WAY_LONGEST = 0.2
# Whether the code running is itself urgent work: it never waits for urgent work, its own included. A context
# variable, so that it follows a request from the server's event loop into the thread that runs its route.
_URGENT_HERE: ContextVar[bool] = ContextVar("pactnet_urgent_here", default=False)


class Urgency:
    """How much urgent work this process has in hand; routine work waits for it at its checkpoints."""

    def __init__(self) -> None:
        self._in_hand = 0
        self._done = threading.Condition()

    @property
    def pressing(self) -> bool:
        """Whether urgent work is in hand right now."""
        return self._in_hand > 0

    @property
    def urgent_here(self) -> bool:
        """Whether the caller is urgent work itself (inside `running`, in its thread or request)."""
        return _URGENT_HERE.get()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Mark urgent work in hand for the duration of the block."""
        with self._done:
            self._in_hand += 1
        here = _URGENT_HERE.set(True)
        try:
            yield
        finally:
            _URGENT_HERE.reset(here)
            with self._done:
                self._in_hand -= 1
                if self._in_hand == 0:
                    self._done.notify_all()

    def give_way(self, longest: float = GIVE_WAY_LONGEST) -> None:
        """Wait while urgent work is in hand, `longest` seconds at most.

        At once if there is none (read without the lock: the common case costs nothing, a stale read one turn),
        or if the caller is urgent work itself (a complete, authenticated request marked urgent by its header).
        """
        if self._in_hand == 0 or self.urgent_here:
            return
        with self._done:
            self._done.wait_for(lambda: self._in_hand == 0, timeout=longest)
