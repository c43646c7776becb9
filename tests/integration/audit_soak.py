"""The tamper soak: a real node's witnessed log, tampered with at random many times over; how many are detected.

ROK (SQLite or PostgreSQL) publishes reports, adds users, rotates its key and publishes again, with a checkpoint
every 7 entries; JPN, served on loopback, witnesses ROK's log (ROK gives it its head over HTTP). Each round opens
a transaction on ROK's database, tampers with the log in one of the ways of `KINDS` as an insider without the
node's key would, verifies the log inside that transaction from the node's first key and against what JPN
holds, and rolls back. The short run is tests/integration/test_audit_soak.py (CI); the long one
bench/soak_audit.py (bench/README.md).
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update

from pactnet.audit.chain import Checkpoint, chain_entry
from pactnet.audit.trust import first_key_on_record
from pactnet.crypto.identity import verify_identity
from pactnet.crypto.keys import NodeKeys, fingerprint
from pactnet.federation.partners import load_partners, save_partners
from pactnet.federation.witness import exchange
from pactnet.node import identity_document, init_node, open_node, rotate_node_keys
from pactnet.services.context import system_clock
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store import audit_log
from pactnet.store.tables import audit_checkpoints, audit_entries, audit_head
from tests.integration.audit_tampering import FIELDS, cut_back_to_checkpoint, forge_rewrite, rows
from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy import Connection

    from pactnet.audit.chain import Witnessed
    from pactnet.node import Node

PARTIES = ("JPN", "ROK", "USA")
CHECKPOINT_EVERY = 7


@dataclass
class Target:
    """The node whose log is tampered with, and what verification trusts besides it."""

    node: Node
    first_key: str | None
    witnessed: list[Witnessed]


def _trust(folder: Path, other: Path, party: str, url: str) -> None:
    registry = load_partners(folder, party, PARTIES)
    document = identity_document(other, url, system_clock() - timedelta(days=1))
    save_partners(folder, registry.trust(verify_identity(document)))


def _publish(node: Node, reports: int) -> None:
    node.audit.checkpoint_every = CHECKPOINT_EVERY
    user, _ = add_user(node, f"officer{time.monotonic_ns()}", "군사II급비밀", [])
    for index in range(reports):
        publish(node, user, Publication(title=f"r{index}", level="군사III급비밀", categories=["dprk-missile"]))


@contextmanager
def witnessed_node(
    folder: Path, rok_database: str | None, jpn_database: str | None, reports: int = 20
) -> Iterator[Target]:
    """ROK with a real log (a key rotation in it), witnessed by JPN on loopback; ROK's head given to JPN."""
    rok_folder, jpn_folder = folder / "rok", folder / "jpn"
    init_node(rok_folder, "gsomia-2019", "ROK", rok_database)
    init_node(jpn_folder, "gsomia-2019", "JPN", jpn_database)
    jpn = open_node(jpn_folder)
    try:
        with LoopbackServer(jpn) as jpn_url:
            _trust(rok_folder, jpn_folder, "ROK", jpn_url)
            _trust(jpn_folder, rok_folder, "JPN", "http://127.0.0.1:9")
            rok = open_node(rok_folder)
            try:
                _publish(rok, reports)
            finally:
                rok.close()
            statement = rotate_node_keys(rok_folder)
            _, registry = load_partners(jpn_folder, "JPN", PARTIES).accept_rotation(statement)
            save_partners(jpn_folder, registry)
            rok = open_node(rok_folder)
            try:
                _publish(rok, reports)
                yield _target(rok)
            finally:
                rok.close()
    finally:
        jpn.close()


def _target(rok: Node) -> Target:
    with rok.uow.engine.connect() as connection:
        head = audit_log.read_head(connection)
    answers = exchange(rok, head)
    witnessed = [answer.witnessed for answer in answers if answer.witnessed is not None]
    if len(witnessed) != len(answers) or witnessed[0].head != head:
        raise RuntimeError(f"the witness did not take ROK's head: {[answer.problem for answer in answers]}")
    return Target(rok, first_key_on_record(rok.config.folder, rok.keys.public_signing), witnessed)


# Tamperings: each changes the log in the open transaction and says how, or returns None when it does not apply.


def _edit(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    entry = rng.choice(rows(connection))
    name = rng.choice(FIELDS)
    value = entry[name]
    if name == "at":  # another second, the same width
        changed = value[:-8] + ("1" if value[-8] != "1" else "2") + value[-7:]
    elif name == "kind":
        changed = "read" if value != "read" else "list"
    elif name == "data":
        changed = json.dumps({"forged": rng.randrange(10**6)}, separators=(",", ":"))
    else:
        changed = value + "x"
    connection.execute(update(audit_entries).where(audit_entries.c.seq == entry["seq"]).values({name: changed}))
    return f"entry {entry['seq']}: {name} changed"


def _delete(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    seq = rng.choice(rows(connection))["seq"]
    connection.execute(delete(audit_entries).where(audit_entries.c.seq == seq))
    return f"entry {seq} deleted"


def _reorder(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    first, second = sorted(rng.sample([entry["seq"] for entry in rows(connection)], 2))
    seq = audit_entries.c.seq
    connection.execute(update(audit_entries).where(seq == first).values(seq=-1))
    connection.execute(update(audit_entries).where(seq == second).values(seq=first))
    connection.execute(update(audit_entries).where(seq == -1).values(seq=second))
    return f"entries {first} and {second} swapped"


def _rechain_from(connection: Connection, entries: list[dict[str, Any]], start: int) -> None:
    """Renumber `entries` 1, 2, … and re-hash from index `start` on, in place of the stored ones."""
    prev = entries[start - 1]["hash"] if start else "0" * 64
    for index, entry in enumerate(entries[start:], start=start + 1):
        made = chain_entry(
            index, entry["at"], entry["kind"], entry["actor"], entry["subject"], json.loads(entry["data"]), prev
        )
        entries[index - 1] = made._asdict() | {"data": made.data_json}
        del entries[index - 1]["data_json"]
        prev = made.hash
    connection.execute(delete(audit_entries))
    connection.execute(insert(audit_entries), entries)


def _renumber(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    entries = rows(connection)
    index = rng.randrange(len(entries) - 1)
    del entries[index]
    _rechain_from(connection, entries, index)
    return f"entry {index + 1} removed, the rest renumbered and re-hashed"


def _insert(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    entries = rows(connection)
    index = rng.randrange(1, len(entries) + 1)
    at = entries[index - 1]["at"]
    entries.insert(index, {"seq": 0, "at": at, "kind": "read", "actor": "ghost", "subject": "x", "data": "{}"})
    _rechain_from(connection, entries, index)
    return f"an entry inserted at {index + 1}, the rest renumbered and re-hashed"


def _truncate(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    last = connection.execute(select(func.max(audit_entries.c.seq))).scalar_one()
    count = rng.randint(1, 10)
    connection.execute(delete(audit_entries).where(audit_entries.c.seq > last - count))
    return f"the last {count} entries deleted"


def _cut_back(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    """The last checkpoint (the attack as found) half the time, an earlier one otherwise."""
    marks = connection.execute(select(audit_checkpoints.c.seq).order_by(audit_checkpoints.c.seq)).scalars().all()
    seq = cut_back_to_checkpoint(connection, marks[-1] if rng.random() < 0.5 else rng.choice(marks))
    return None if seq is None else f"cut back to the checkpoint at {seq}, copied into the head"


def _stale_head(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    marks = connection.execute(select(audit_checkpoints)).all()
    mark = rng.choice(marks)
    values = {"seq": mark.seq, "hash": mark.hash, "at": mark.at, "key": mark.key, "signature": mark.signature}
    connection.execute(update(audit_head).values(**values))
    return f"the checkpoint at {mark.seq} copied into the head, entries kept"


def _forge(connection: Connection, rng: random.Random, target: Target) -> str | None:
    count = len(rows(connection))
    drop = set(rng.sample(range(2, count + 1), rng.randint(0, 5)))
    forge_rewrite(connection, target.node.keys, NodeKeys.generate(), drop, system_clock())
    return f"rewritten with an attacker's key and a rotation to the node's key, {len(drop)} entries dropped"


def _resign(connection: Connection, rng: random.Random, _target: Target) -> str | None:
    entries = rows(connection)
    index = rng.randrange(len(entries))
    entries[index]["actor"] += "x"
    _rechain_from(connection, entries, index)
    attacker = NodeKeys.generate()
    for entry in entries[index:]:
        if entry["seq"] % CHECKPOINT_EVERY == 0:
            mark = Checkpoint.sign(attacker, entry["seq"], entry["hash"], entry["at"]).as_dict()
            connection.execute(update(audit_checkpoints).where(audit_checkpoints.c.seq == entry["seq"]).values(**mark))
    last = entries[-1]
    connection.execute(
        update(audit_head).values(**Checkpoint.sign(attacker, last["seq"], last["hash"], last["at"]).as_dict())
    )
    return f"entry {index + 1} changed, the chain re-hashed and re-signed with an attacker's key"


def _forge_folder(connection: Connection, rng: random.Random, target: Target) -> str | None:
    """A forged rewrite whose attacker also rewrote the folder's record of keys: only the witness can tell."""
    attacker = NodeKeys.generate()
    forge_rewrite(connection, target.node.keys, attacker, set(rng.sample(range(2, 10), 2)), system_clock())
    # What the folder says once retired_keys.toml names the attacker's key first (the file itself is left alone).
    target.first_key = fingerprint(attacker.public_signing)
    return "rewritten with an attacker's key, retired_keys.toml rewritten to begin with it"


KINDS: dict[str, Callable[[Connection, random.Random, Target], str | None]] = {
    "edit a field": _edit,
    "delete": _delete,
    "reorder": _reorder,
    "renumber": _renumber,
    "insert": _insert,
    "truncate the tail": _truncate,
    "cut back to a checkpoint": _cut_back,
    "stale head": _stale_head,
    "key-forged rewrite": _forge,
    "key-forged re-signing": _resign,
    "key-forged rewrite, folder too": _forge_folder,
}


@dataclass
class SoakResult:
    """Per kind: tamperings made and detected; and what was missed, to show."""

    made: dict[str, int] = field(default_factory=dict)
    detected: dict[str, int] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Tamperings made."""
        return sum(self.made.values())

    @property
    def found(self) -> int:
        """Tamperings detected."""
        return sum(self.detected.values())


def soak(target: Target, rounds: int, rng: random.Random) -> SoakResult:
    """Tamper `rounds` times, each in a transaction rolled back afterwards; verify each time."""
    result = SoakResult()
    anchor = target.first_key
    while result.total < rounds:
        name = rng.choice(sorted(KINDS))
        target.first_key = anchor
        with target.node.uow.engine.connect() as connection:
            transaction = connection.begin()
            try:
                what = KINDS[name](connection, rng, target)
                if what is None:
                    continue
                verdict = audit_log.verify(
                    connection, target.node.keys.public_signing, first_key=target.first_key, witnessed=target.witnessed
                )
            finally:
                transaction.rollback()
        result.made[name] = result.made.get(name, 0) + 1
        if verdict.intact:
            result.missed.append(f"{name}: {what}")
        else:
            result.detected[name] = result.detected.get(name, 0) + 1
    target.first_key = anchor
    return result


def is_untouched(target: Target) -> bool:
    """Whether the log still verifies after the soak (every tampering was rolled back)."""
    with target.node.uow.engine.connect() as connection:
        return audit_log.verify(
            connection, target.node.keys.public_signing, first_key=target.first_key, witnessed=target.witnessed
        ).intact
