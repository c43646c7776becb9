"""The hash chain, pure: each entry commits to the one before it, and checkpoints sign a point of the chain.

An entry's hash is SHA-256 over its fields and its data as canonical JSON (sorted keys, no spaces, UTF-8),
including the previous entry's hash, so changing, removing, inserting or reordering any entry breaks every
hash after it. A signed checkpoint (Ed25519, the node's key) pins the chain up to an entry so that a partner
can check an exported log without trusting the node; a signed head, renewed with every write, pins the last
entry so that cutting the tail is detected too.

A key rotation is recorded in the chain itself (a `key-rotated` entry holding the statement signed by the old
key), so that checkpoints signed before it still verify once the node holds its new key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any, NamedTuple

from pactnet.crypto.identity import IdentityError, read_rotation
from pactnet.crypto.keys import b64, unb64, verify

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pactnet.crypto.keys import NodeKeys

GENESIS = "0" * 64
CHECKPOINT_DOMAIN = b"pactnet-audit-checkpoint/1\n"
# The entry `pactnet node rotate-key` writes, signed (as the head) by the key it retires: its data holds the
# rotation statement, which lets checkpoints signed before the rotation be checked with the retired key.
KEY_ROTATED = "key-rotated"


def canonical(data: dict[str, Any]) -> bytes:
    """The canonical JSON encoding that hashes and signatures are computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(seq: int, at: str, kind: str, actor: str, subject: str, data_json: str, prev: str) -> str:
    """SHA-256 over the entry's fields, each length-prefixed so that no two entries encode alike.

    The data is hashed as stored (canonical JSON text), so verifying a log never parses JSON.
    """
    number = str(seq)
    encoded = (
        f"{len(number)}:{number}{len(at)}:{at}{len(kind)}:{kind}{len(actor)}:{actor}"
        f"{len(subject)}:{subject}{len(prev)}:{prev}{len(data_json)}:{data_json}"
    )
    return sha256(encoded.encode("utf-8")).hexdigest()


class AuditRecord(NamedTuple):
    """What a write asks the log to record: its kind, who acted, what it is about, and the details."""

    kind: str
    actor: str
    subject: str
    data: dict[str, Any]


class Entry(NamedTuple):
    """One audit entry as stored; `data_json` is the canonical JSON of its data.

    A named tuple, in the column order of the table, so that verification runs over stored rows as they come.
    """

    seq: int
    at: str
    kind: str
    actor: str
    subject: str
    data_json: str
    prev: str
    hash: str

    @property
    def data(self) -> dict[str, Any]:
        """The entry's data."""
        value: dict[str, Any] = json.loads(self.data_json)
        return value

    def recomputed_hash(self) -> str:
        """What the hash must be for the entry's content."""
        return entry_hash(self.seq, self.at, self.kind, self.actor, self.subject, self.data_json, self.prev)

    def as_dict(self) -> dict[str, Any]:
        """The entry as exported (one JSON Lines record)."""
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "actor": self.actor,
            "subject": self.subject,
            "data": self.data,
            "prev": self.prev,
            "hash": self.hash,
        }


def chain_entry(seq: int, at: str, kind: str, actor: str, subject: str, data: dict[str, Any], prev: str) -> Entry:
    """A new entry, linked to the previous entry's hash."""
    data_json = canonical(data).decode("utf-8")
    return Entry(
        seq, at, kind, actor, subject, data_json, prev, entry_hash(seq, at, kind, actor, subject, data_json, prev)
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: "entry `seq` of this node's log has hash `hash`"."""

    seq: int
    hash: str
    at: str
    key: str
    signature: str

    @staticmethod
    def message(seq: int, entry_hash: str, at: str) -> bytes:
        """The bytes a checkpoint signs."""
        return CHECKPOINT_DOMAIN + canonical({"seq": seq, "hash": entry_hash, "at": at})

    @classmethod
    def sign(cls, keys: NodeKeys, seq: int, entry_hash: str, at: str) -> Checkpoint:
        """A checkpoint signed with the node's key."""
        signature = keys.sign(cls.message(seq, entry_hash, at))
        return cls(seq, entry_hash, at, b64(keys.public_signing), b64(signature))

    def is_signed_by(self, public_key: bytes) -> bool:
        """Whether the signature is valid and made by `public_key`."""
        try:
            signature = unb64(self.signature)
        except ValueError:
            return False
        return self.key == b64(public_key) and verify(public_key, signature, self.message(self.seq, self.hash, self.at))

    def as_dict(self) -> dict[str, Any]:
        """The checkpoint as exported."""
        return {"seq": self.seq, "hash": self.hash, "at": self.at, "key": self.key, "signature": self.signature}


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking a log: intact, or the first entry found wrong and what is wrong with it."""

    intact: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "intact": self.intact,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad,
            "problem": self.problem,
        }


def verify_chain(  # noqa: C901, PLR0911, PLR0912 - one check per kind of tampering, in the order reported
    entries: Iterable[Sequence[Any]], checkpoints: Iterable[Checkpoint], head: Checkpoint | None, public_key: bytes
) -> Verification:
    """Check the whole chain, every checkpoint and the head; name the first entry that is wrong.

    `entries` are Entry tuples, or stored rows in the same column order.
    """
    marks = sorted(checkpoints, key=lambda checkpoint: checkpoint.seq)
    by_seq = {mark.seq: mark for mark in marks}
    expected_seq, prev, count = 1, GENESIS, 0
    rotations: list[Entry] = []

    def broken(seq: int, problem: str) -> Verification:
        return Verification(intact=False, entries=count, checkpoints=len(marks), first_bad=seq, problem=problem)

    # The loop runs once per entry of the log (a million and more): fields are unpacked, not looked up.
    for row in entries:
        seq, at, kind, actor, subject, data_json, row_prev, row_hash = row
        count += 1
        if seq != expected_seq:
            what = "missing (removed)" if seq > expected_seq else "out of order or inserted"
            return broken(expected_seq, f"entry {expected_seq} is {what}: found entry {seq} in its place")
        if row_prev != prev:
            return broken(seq, f"entry {seq} does not follow entry {seq - 1} (inserted or reordered)")
        if entry_hash(seq, at, kind, actor, subject, data_json, row_prev) != row_hash:
            return broken(seq, f"entry {seq} was changed: its content does not match its hash")
        if seq in by_seq and by_seq[seq].hash != row_hash:
            return broken(seq, f"entry {seq} does not match the signed checkpoint at it")
        if kind == KEY_ROTATED:
            rotations.append(Entry(*row))
        prev, expected_seq = row_hash, expected_seq + 1
    last = expected_seq - 1
    signers = node_signing_keys(public_key, rotations)
    for mark in marks:
        if not _is_signed_by_node(mark, signers):
            return broken(mark.seq, f"the checkpoint at entry {mark.seq} is not signed by this node's key")
        if mark.seq > last:
            return broken(
                last + 1, f"entries {last + 1}..{mark.seq} were removed (a checkpoint signed entry {mark.seq})"
            )
    if head is not None:
        if not _is_signed_by_node(head, signers):
            return broken(head.seq, "the signed head of the log is not signed by this node's key")
        if head.seq > last:
            return broken(last + 1, f"the tail was cut: the signed head is entry {head.seq}, the log ends at {last}")
        if head.seq < last:
            return broken(head.seq + 1, f"entries after {head.seq} were appended outside the node (no signed head)")
        if head.hash != prev:
            return broken(last, f"entry {last} does not match the signed head")
    return Verification(intact=True, entries=count, checkpoints=len(marks))


def node_signing_keys(public_key: bytes, rotations: Iterable[Entry]) -> dict[str, int | None]:
    """The node's signing keys (base64url), each with the last entry it may sign (None: the current key).

    Walking back from the current key, each recorded rotation whose new key is the one reached retires its
    old key at the rotation's entry; a rotation outside that line (recorded, then never completed) grants
    nothing.
    """
    keys: dict[str, int | None] = {b64(public_key): None}
    current = public_key
    for entry in sorted(rotations, key=lambda rotation: rotation.seq, reverse=True):
        try:
            statement = entry.data["rotation"]
            rotation = read_rotation(statement) if isinstance(statement, dict) else None
        except (KeyError, ValueError, IdentityError):
            rotation = None
        if rotation is not None and rotation.signing_key == current:
            current = rotation.old_signing_key
            keys.setdefault(b64(current), entry.seq)
    return keys


def _is_signed_by_node(mark: Checkpoint, signers: dict[str, int | None]) -> bool:
    if mark.key not in signers:
        return False
    last = signers[mark.key]
    if last is not None and mark.seq > last:
        return False
    try:
        key = unb64(mark.key)
    except ValueError:
        return False
    return mark.is_signed_by(key)
