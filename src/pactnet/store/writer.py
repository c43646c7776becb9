"""Group commit: writes from many requests share one transaction and one fsync.

SQLite with `synchronous=FULL` pays one fsync per commit (about a millisecond here); that, not the SQL, bounds
how many reports a node can take per second. Requests hand their write to one writer thread; it runs every write
waiting at that moment in one transaction, each inside its own savepoint (a write that fails is rolled back
alone and its caller gets its exception), commits once, then answers them all. A caller's write is durable when
`run` returns, exactly as with a transaction of its own.

Urgent writes (a flash report published, received, settled) have a queue of their own, served first; a routine
batch being written is committed early, before its next write, when an urgent one comes in, and routine jobs that
loop over many items can stop part-way (`urgent_waiting`) or give way outright (`give_way_to_urgent`): rolled
back, and run again after the urgent writes.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine

T = TypeVar("T")
MAX_BATCH = 128
# How many times one routine write gives way to urgent ones before it is let through: a stream of flashes slows
# routine traffic down but never stops it.
MAX_GIVE_WAY = 3


class GiveWayError(Exception):
    """Raised by `give_way_to_urgent` inside a routine write: the writer rolls it back and runs it again later."""


@dataclass(eq=False)
class _Write(Generic[T]):
    job: Callable[[Connection], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None
    given_way: int = 0  # times rolled back for urgent writes


class GroupCommitter:
    """Runs writes for many threads in shared transactions, one commit per batch; urgent writes go first."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._urgent: deque[_Write[Any]] = deque()
        self._routine: deque[_Write[Any]] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()  # the running thread's: it ends once nothing is left to write
        self._running: _Write[Any] | None = None  # the routine write in the writer thread now, if any

    def run(self, job: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run `job` in a transaction shared with other writers; return once it is committed.

        An urgent write (a flash report, its delivery) is taken before every routine write waiting with it, in a
        transaction of its own with the other urgent ones: it waits for the transaction in progress, not for a
        queue of routine writes behind it.
        """
        write: _Write[T] = _Write(job)
        with self._ready:
            if self._thread is None:
                self._closing = threading.Event()
                self._thread = threading.Thread(
                    target=self._loop, args=(self._closing,), name="pactnet-writer", daemon=True
                )
                self._thread.start()
            (self._urgent if urgent else self._routine).append(write)
            self._ready.notify_all()  # a writer closing may still be draining beside a new one
        write.done.wait()
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[return-value]  # set whenever error is None

    @property
    def urgent_waiting(self) -> bool:
        """Whether an urgent write is waiting: a long routine write that can stop part-way should stop now."""
        return bool(self._urgent)

    def give_way_to_urgent(self) -> None:
        """Inside a routine write: raise GiveWayError if an urgent write is waiting, to be run again after it.

        For a routine write that has more left to do than an urgent one should wait for (receiving a batch
        spends most of its transaction inserting rows and appending to the audit log). Everything it wrote is
        rolled back, so it must be a job that can run again from the start. Not after MAX_GIVE_WAY times, and a
        no-op outside the writer thread's routine writes.
        """
        running = self._running
        if (
            running is not None
            and self._urgent
            and running.given_way < MAX_GIVE_WAY
            and threading.current_thread() is self._thread
        ):
            running.given_way += 1
            raise GiveWayError

    def close(self) -> None:
        """Stop the writer thread after the writes already handed over."""
        with self._ready:
            thread, self._thread = self._thread, None
            self._closing.set()
            self._ready.notify_all()
        if thread is not None:
            thread.join()

    def _loop(self, closing: threading.Event) -> None:
        while True:
            with self._ready:
                while not (self._urgent or self._routine or closing.is_set()):
                    self._ready.wait()
                waiting = self._urgent or self._routine
                if not waiting:
                    return  # closing, and every write handed over is done
                urgent = waiting is self._urgent
                batch = [waiting.popleft() for _ in range(min(len(waiting), self.max_batch))]
            self._commit(batch, urgent=urgent)

    def _commit(self, batch: list[_Write[Any]], *, urgent: bool) -> None:
        if len(batch) == 1:
            self._commit_alone(batch[0], urgent=urgent)
            return
        try:
            with self.engine.begin() as connection:
                for number, write in enumerate(batch):
                    # An urgent write came in, or the write in hand gave way to one: commit what is done, and
                    # the rest waits for it.
                    cut_short = not urgent and self._urgent and number
                    if cut_short or not self._in_savepoint(write, connection, urgent=urgent):
                        batch, rest = batch[:number], batch[number:]
                        with self._ready:
                            self._routine.extendleft(reversed(rest))
                        break
        except BaseException as error:  # noqa: BLE001 - the commit failed: no write of the batch happened
            for write in batch:
                if write.error is None:
                    write.error = error
        finally:
            for write in batch:
                write.done.set()

    def _in_savepoint(self, write: _Write[Any], connection: Connection, *, urgent: bool) -> bool:
        """Run one write of a batch in a savepoint of its own; False if it gave way (rolled back, to run again)."""
        savepoint = connection.begin_nested()
        try:
            write.result = self._run(write, connection, urgent=urgent)
        except GiveWayError:
            savepoint.rollback()
            return False
        except BaseException as error:  # noqa: BLE001 - handed to the caller, who re-raises it
            savepoint.rollback()
            write.error = error
        else:
            savepoint.commit()
        return True

    def _commit_alone(self, write: _Write[Any], *, urgent: bool) -> None:
        """A write with nobody to share with needs no savepoint: its transaction is its own."""
        try:
            with self.engine.begin() as connection:
                write.result = self._run(write, connection, urgent=urgent)
        except GiveWayError:
            with self._ready:
                self._routine.appendleft(write)  # rolled back: it runs again after the urgent writes
            return
        except BaseException as error:  # noqa: BLE001 - handed to the caller, who re-raises it
            write.error = error
        write.done.set()

    def _run(self, write: _Write[T], connection: Connection, *, urgent: bool) -> T:
        self._running = None if urgent else write
        try:
            return write.job(connection)
        finally:
            self._running = None
