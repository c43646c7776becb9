"""The audit log in the database: appended in the same transaction as what it records, verified on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from pactnet.audit.chain import GENESIS, AuditRecord, Checkpoint, Entry, Verification, canonical, chained, verify_chain
from pactnet.store.bulk import insert_rows
from pactnet.store.tables import audit_checkpoints, audit_entries, audit_head

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Connection, Row

    from pactnet.audit.chain import Witnessed
    from pactnet.crypto.keys import NodeKeys

HEAD_ROW = 1
# Statements built once: building them per write cost more than running them.
_LOCK_HEAD = select(audit_head).where(audit_head.c.id == HEAD_ROW).with_for_update()
_UPDATE_HEAD = update(audit_head).where(audit_head.c.id == HEAD_ROW)
_INSERT_CHECKPOINTS = insert(audit_checkpoints)


def _checkpoint(row: Row[Any]) -> Checkpoint:
    return Checkpoint(row.seq, row.hash, row.at, row.key, row.signature)


class SqlAuditLog:
    """Appends entries to the hash chain and keeps the signed head and checkpoints."""

    def __init__(self, keys: NodeKeys, checkpoint_every: int) -> None:
        self.keys = keys
        self.checkpoint_every = checkpoint_every

    def start(self, connection: Connection, at: str) -> None:
        """Write the signed head of an empty log (once, when the node's database is created)."""
        head = Checkpoint.sign(self.keys, 0, GENESIS, at)
        connection.execute(insert(audit_head).values(id=HEAD_ROW, **head.as_dict()))

    def lock(self, connection: Connection) -> None:
        """Take the log's lock for the rest of the transaction (FOR UPDATE on PostgreSQL; SQLite is locked)."""
        connection.execute(_LOCK_HEAD).one()

    def append(self, connection: Connection, at: str, records: list[AuditRecord]) -> list[Entry]:
        """Append (kind, actor, subject, data) records, in the caller's transaction, and re-sign the head.

        The head row is locked first (FOR UPDATE on PostgreSQL; SQLite's writer lock is already held), so
        concurrent writers append one after another and the chain never forks.
        """
        head = connection.execute(_LOCK_HEAD).one()
        seq, prev = head.seq, head.hash
        entries: list[Entry] = []
        # The canonical JSON of each data object, once: records may share one (services.records.DecisionForms),
        # and `records` keeps every one alive, so no id is reused meanwhile.
        encoded: dict[int, str] = {}
        for kind, actor, subject, data in records:
            seq += 1
            data_json = encoded.get(id(data))
            if data_json is None:
                data_json = encoded[id(data)] = canonical(data).decode("utf-8")
            entry = chained(seq, at, kind, actor, subject, data_json, prev)
            entries.append(entry)
            prev = entry.hash
        if not entries:
            return entries
        insert_rows(
            connection,
            audit_entries,
            [
                {
                    "seq": entry.seq,
                    "at": entry.at,
                    "kind": entry.kind,
                    "actor": entry.actor,
                    "subject": entry.subject,
                    "data": entry.data_json,
                    "prev": entry.prev,
                    "hash": entry.hash,
                }
                for entry in entries
            ],
        )
        signed = Checkpoint.sign(self.keys, seq, prev, at)
        connection.execute(_UPDATE_HEAD, signed.as_dict())
        every = self.checkpoint_every
        marks = [entry for entry in entries if entry.seq % every == 0]
        if marks:
            connection.execute(
                _INSERT_CHECKPOINTS,
                [Checkpoint.sign(self.keys, entry.seq, entry.hash, at).as_dict() for entry in marks],
            )
        return entries

    def checkpoint_now(self, connection: Connection, at: str) -> Checkpoint | None:
        """A signed checkpoint at the last entry, on demand (None for an empty log or one already pinned)."""
        head = connection.execute(select(audit_head).where(audit_head.c.id == HEAD_ROW).with_for_update()).one()
        if head.seq == 0:
            return None
        existing = connection.execute(select(audit_checkpoints).where(audit_checkpoints.c.seq == head.seq)).first()
        if existing is not None:
            return _checkpoint(existing)
        mark = Checkpoint.sign(self.keys, head.seq, head.hash, at)
        connection.execute(insert(audit_checkpoints).values(**mark.as_dict()))
        return mark


def read_entries(connection: Connection, after: int = 0, limit: int | None = None) -> Iterator[Entry]:
    """Entries in chain order, streamed in batches."""
    batch = 5000
    last = after
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch if remaining is None else min(batch, remaining)
        rows = connection.execute(
            select(audit_entries).where(audit_entries.c.seq > last).order_by(audit_entries.c.seq).limit(size)
        ).all()
        for row in rows:
            yield Entry(row.seq, row.at, row.kind, row.actor, row.subject, row.data, row.prev, row.hash)
        if len(rows) < size:
            return
        last = rows[-1].seq
        if remaining is not None:
            remaining -= len(rows)


def read_checkpoints(connection: Connection) -> list[Checkpoint]:
    """Every checkpoint, in order."""
    return [_checkpoint(row) for row in connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq))]


def read_head(connection: Connection) -> Checkpoint | None:
    """The signed head, or None if it was removed."""
    row = connection.execute(select(audit_head).where(audit_head.c.id == HEAD_ROW)).first()
    return None if row is None else _checkpoint(row)


_STORED_ROWS = "SELECT seq, at, kind, actor, subject, data, prev, hash FROM audit_entries ORDER BY seq"


def stored_rows(connection: Connection) -> Iterator[tuple[Any, ...]]:
    """Every entry as a plain row, in chain order, streamed from the driver's own cursor.

    Verification reads the whole log; going around SQLAlchemy's row objects halves the time it takes. On
    PostgreSQL a named (server-side) cursor keeps memory flat however long the log is.
    """
    connection.execute(select(1))  # make sure the transaction has begun on this connection
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor(name="pactnet_audit_rows") as cursor:
            cursor.itersize = 20_000
            cursor.execute(_STORED_ROWS)
            yield from cursor
        return
    cursor = raw.cursor()
    try:
        cursor.arraysize = 20_000
        cursor.execute(_STORED_ROWS)
        while rows := cursor.fetchmany():
            yield from rows
    finally:
        cursor.close()


def verify(
    connection: Connection,
    public_key: bytes,
    *,
    first_key: str | None = None,
    witnessed: Sequence[Witnessed] = (),
) -> Verification:
    """Check the whole log as stored: chain, checkpoints and head, from `first_key`, against the witnesses."""
    head = read_head(connection)
    if head is None:
        count = connection.execute(select(func.count()).select_from(audit_entries)).scalar_one()
        problem = "the signed head of the log was removed"
        return Verification(intact=False, entries=count, checkpoints=0, first_bad=1, problem=problem)
    marks = read_checkpoints(connection)
    return verify_chain(stored_rows(connection), marks, head, public_key, first_key=first_key, witnessed=witnessed)
