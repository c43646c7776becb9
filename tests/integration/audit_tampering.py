"""Ways an insider with the database (and not the node's key) rewrites a node's audit log, for the tests and bench/.

Each tampering takes a connection inside a transaction the caller owns (and may roll back), a random source and
the node's public signing key, changes the log in place as an attacker would, and returns a line saying what it
did. The key-forged kinds re-chain the entries they keep and sign checkpoints and the head with an attacker's
key, leading to the node's real key through a `key-rotated` entry signed by the attacker's key (issue 17).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from pactnet.audit.chain import KEY_ROTATED, Checkpoint, chain_entry
from pactnet.crypto.identity import build_rotation
from pactnet.store.audit_log import HEAD_ROW
from pactnet.store.tables import audit_checkpoints, audit_entries, audit_head

if TYPE_CHECKING:
    import random
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.crypto.keys import NodeKeys

    Tampering = Callable[[Connection, random.Random, NodeKeys], str]

FIELDS = ("at", "kind", "actor", "subject", "data")


def rows(connection: Connection) -> list[dict[str, Any]]:
    """Every entry, in chain order, as plain dicts."""
    found = connection.execute(select(audit_entries).order_by(audit_entries.c.seq)).all()
    return [dict(row._mapping) for row in found]  # noqa: SLF001 - SQLAlchemy's public row mapping


def _replace_entries(connection: Connection, entries: list[dict[str, Any]]) -> None:
    connection.execute(delete(audit_entries))
    if entries:
        connection.execute(insert(audit_entries), entries)


def _rechain(entries: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    """The entries renumbered 1, 2, … and re-hashed from `start` on, as an attacker who recomputes the chain."""
    prev = entries[start - 1]["hash"] if start else "0" * 64
    out = entries[:start]
    for index, entry in enumerate(entries[start:], start=start + 1):
        made = chain_entry(
            index, entry["at"], entry["kind"], entry["actor"], entry["subject"], json.loads(entry["data"]), prev
        )
        out.append(made._asdict() | {"data": made.data_json})
        del out[-1]["data_json"]
        prev = made.hash
    return out


def _sign_head(connection: Connection, keys: NodeKeys, seq: int, entry_hash: str, at: str) -> None:
    head = Checkpoint.sign(keys, seq, entry_hash, at)
    connection.execute(update(audit_head).where(audit_head.c.id == HEAD_ROW).values(**head.as_dict()))


def forge_rewrite(
    connection: Connection, node_keys: NodeKeys, attacker: NodeKeys, drop: set[int], at: datetime
) -> list[dict[str, Any]]:
    """The attack of issue 17: drop entries, renumber and re-chain, add a rotation from `attacker` to the node's key.

    The head is signed by the attacker's key at the rotation entry, and checkpoints are re-signed with it, so
    that a verifier who admits any key a recorded rotation leads from finds nothing wrong.
    """
    kept = [entry for entry in rows(connection) if entry["seq"] not in drop]
    entries = _rechain(kept)
    statement = build_rotation(attacker, node_keys, "ROK", at)
    prev = entries[-1]["hash"] if entries else "0" * 64
    last = entries[-1]["at"] if entries else "2019-07-25T06:00:00.000000Z"
    rotation = chain_entry(len(entries) + 1, last, KEY_ROTATED, "cli", "ROK", {"rotation": statement}, prev)
    entries.append(rotation._asdict() | {"data": rotation.data_json})
    del entries[-1]["data_json"]
    _replace_entries(connection, entries)
    connection.execute(delete(audit_checkpoints))
    marks = [entry for entry in entries if entry["seq"] % 4 == 0]
    if marks:
        connection.execute(
            insert(audit_checkpoints),
            [Checkpoint.sign(attacker, entry["seq"], entry["hash"], entry["at"]).as_dict() for entry in marks],
        )
    _sign_head(connection, attacker, rotation.seq, rotation.hash, rotation.at)
    return entries


def cut_back_to_checkpoint(connection: Connection, seq: int | None = None) -> int | None:
    """Delete every entry after a checkpoint (the last, or the one at `seq`) and copy it into the head; its seq."""
    marks = select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
    if seq is not None:
        marks = select(audit_checkpoints).where(audit_checkpoints.c.seq == seq)
    mark = connection.execute(marks).first()
    if mark is None:
        return None
    connection.execute(delete(audit_entries).where(audit_entries.c.seq > mark.seq))
    connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq > mark.seq))
    values = {"seq": mark.seq, "hash": mark.hash, "at": mark.at, "key": mark.key, "signature": mark.signature}
    connection.execute(update(audit_head).where(audit_head.c.id == HEAD_ROW).values(**values))
    return int(mark.seq)
