"""Group commit: writes from many requests share one transaction and one fsync.

SQLite with `synchronous=FULL` pays one fsync per commit (about a millisecond here); that, not the SQL, bounds
how many reports a node can take per second. Requests hand their write to one writer thread; it runs every write
waiting at that moment in one transaction, each inside its own savepoint (a write that fails is rolled back
alone and its caller gets its exception), commits once, then answers them all. A caller's write is durable when
`run` returns, exactly as with a transaction of its own.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine

T = TypeVar("T")
MAX_BATCH = 128


@dataclass(eq=False)
class _Write(Generic[T]):
    job: Callable[[Connection], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Runs writes for many threads in shared transactions, one commit per batch."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Write[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, job: Callable[[Connection], T]) -> T:
        """Run `job` in a transaction shared with other writers; return once it is committed."""
        write: _Write[T] = _Write(job)
        self._start()
        self._queue.put(write)
        write.done.wait()
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[return-value]  # set whenever error is None

    def close(self) -> None:
        """Stop the writer thread after the writes already handed over."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="pactnet-writer", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Write[Any]]) -> None:
        if len(batch) == 1:
            self._commit_alone(batch[0])
            return
        try:
            with self.engine.begin() as connection:
                for write in batch:
                    savepoint = connection.begin_nested()
                    try:
                        write.result = write.job(connection)
                    except BaseException as error:  # noqa: BLE001 - handed to the caller, who re-raises it
                        savepoint.rollback()
                        write.error = error
                    else:
                        savepoint.commit()
        except BaseException as error:  # noqa: BLE001 - the commit failed: no write of the batch happened
            for write in batch:
                if write.error is None:
                    write.error = error
        finally:
            for write in batch:
                write.done.set()

    def _commit_alone(self, write: _Write[Any]) -> None:
        """A write with nobody to share with needs no savepoint: its transaction is its own."""
        try:
            with self.engine.begin() as connection:
                write.result = write.job(connection)
        except BaseException as error:  # noqa: BLE001 - handed to the caller, who re-raises it
            write.error = error
        finally:
            write.done.set()
