"""The unit of work: the one way a node opens a transaction, to write or to read, urgent or not, on either backend.

Three doors, one object (cosmicpython's AbstractUnitOfWork, shaped by what a node needs):
- `write(job, urgent=...)`: group commit (store.writer) — the job shares its transaction and its fsync with the
  other writes waiting at that moment, inside a savepoint of its own; urgent jobs go first.
- `transaction()`: a transaction of its own, for the few writes that hold a lock across a longer step (the audit
  log's lock while a lifecycle act is judged; PostgreSQL's row locks while a dispatcher batch is sent).
- `read()`: the read-only engine (SQLite: a second pool that never takes the write lock).

Whatever door a write used, its commit says which dispatcher lanes to wake: the outbox notes the lanes on the
connection as it writes rows (`note_queued`), and the unit of work takes the note and rings those lanes only after
the commit. A note left by a write that failed is dropped before the next job runs on that pooled connection.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from pactnet.store import database
from pactnet.store.writer import GroupCommitter
from pactnet.urgency import Urgency
from pactnet.wakeups import LaneWaker, LaneWakers

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine

T = TypeVar("T")
# Where a connection's info holds the dispatcher lanes its writes queued outbox rows for (see take_queued).
QUEUED_LANES = "pactnet.outbox.queued"


def note_queued(connection: Connection, lanes: Iterable[bool]) -> None:
    """Note on the connection that rows were queued for these lanes (urgent True, the others False)."""
    connection.info.setdefault(QUEUED_LANES, set()).update(lanes)


def take_queued(connection: Connection) -> set[bool]:
    """The dispatcher lanes the writes on this connection queued outbox rows for since the last call.

    A row rolled back after it was noted costs one needless wake-up, nothing more.
    """
    lanes: set[bool] = connection.info.pop(QUEUED_LANES, set())
    return lanes


class UnitOfWork:
    """A node's database: its write and read engines, its group committer, and the wake-ups its commits ring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = database.reader(engine)
        self.writer = GroupCommitter(engine)
        # Flash and immediate work in hand in this process, which routine work gives way to (pactnet.urgency).
        self.urgency = Urgency()
        # Rung when something was written to the outbox, so that a dispatcher in this process sends it at once:
        # the urgent lanes (True), one idle lane per write, and the others (False), all of them.
        self.outbox_wakers = {True: LaneWakers(one_at_a_time=True), False: LaneWakers(one_at_a_time=False)}

    @property
    def is_postgresql(self) -> bool:
        """Whether the database is PostgreSQL (row locks; one pool for reads and writes)."""
        return self.engine.dialect.name == "postgresql"

    def write(self, job: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run a write (and the audit entries it appends) in a committed transaction, sharing its fsync.

        `urgent` (a flash or immediate report, its delivery): taken before the routine writes waiting with it.
        Once it is committed, the dispatcher lanes it queued outbox rows for are woken.
        """
        queued: set[bool] = set()

        def job_and_its_queue(connection: Connection) -> T:
            take_queued(connection)  # a note left on this pooled connection by a write that failed
            result = job(connection)
            queued.update(take_queued(connection))
            return result

        result = self.writer.run(job_and_its_queue, urgent=urgent)
        self.outbox_changed(queued)
        return result

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction of its own, committed on leaving; then the lanes it queued rows for are woken."""
        with self.engine.connect() as connection:
            take_queued(connection)
            with connection.begin():
                yield connection
            queued = take_queued(connection)
        self.outbox_changed(queued)

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A connection of the read engine (its transaction begins with the first statement, ends on leaving).

        `snapshot`: every statement sees the same committed state; PostgreSQL's default READ COMMITTED would let
        rows committed meanwhile appear between two statements (a SQLite transaction is a snapshot already).
        """
        reader = self.reader
        if snapshot and self.is_postgresql:
            reader = reader.execution_options(isolation_level="REPEATABLE READ")
        with reader.connect() as connection:
            yield connection

    def outbox_waker(self, *, urgent: bool) -> LaneWaker:
        """What a dispatcher lane (urgent or not) waits on: woken when this process queues rows for its class."""
        return self.outbox_wakers[urgent].add()

    def outbox_changed(self, lanes: Iterable[bool]) -> None:
        """Wake this process's dispatcher lanes that have something new: urgent (True), the others (False).

        Only those, and one urgent lane per write (pactnet.wakeups): every lane woken reads the outbox, and those
        reads take turns on the interpreter lock with the flash being sent or received.
        """
        for urgent in set(lanes):
            self.outbox_wakers[urgent].ring()

    def close(self) -> None:
        """Finish the writes handed over, then release the database connections."""
        self.writer.close()
        self.engine.dispose()
