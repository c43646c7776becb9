"""The hash chain, pure: each entry commits to the one before it, and checkpoints sign a point of the chain.

An entry's hash is SHA-256 over its fields and its data as canonical JSON (sorted keys, no spaces, UTF-8),
including the previous entry's hash, so changing, removing, inserting or reordering any entry breaks every
hash after it. A signed checkpoint (Ed25519, the node's key) pins the chain up to an entry so that a partner
can check an exported log without trusting the node; a signed head, renewed with every write, pins the last
entry so that cutting the tail is detected too.

A key rotation is recorded in the chain itself (a `key-rotated` entry holding the statement signed by the old
key), so that checkpoints signed before it still verify once the node holds its new key; verification walks
back from the current key to the node's first key and no further (pactnet.audit.keyline), and compares the log
with the heads its witnesses hold (docs/audit.md, "What verification trusts").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any, NamedTuple

from pactnet.audit.keyline import KeyLine, fingerprint_of, is_signed_by_node, key_line
from pactnet.crypto.keys import b64, fingerprint, unb64, verify

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pactnet.crypto.keys import NodeKeys

GENESIS = "0" * 64
CHECKPOINT_DOMAIN = b"pactnet-audit-checkpoint/1\n"
# The entry `pactnet node rotate-key` writes, signed (as the head) by the key it retires: its data holds the
# rotation statement, which lets checkpoints signed before the rotation be checked with the retired key.
KEY_ROTATED = "key-rotated"
# The genesis entry: every log begins with the node's creation, written with the node's first key.
NODE_CREATED = "node-created"


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


# An exported entry's keys, in order: the stored fields, with the data parsed instead of its canonical text.
_EXPORTED_KEYS = ("seq", "at", "kind", "actor", "subject", "data", "prev", "hash")


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
        return {name: getattr(self, name) for name in _EXPORTED_KEYS}


def chain_entry(seq: int, at: str, kind: str, actor: str, subject: str, data: dict[str, Any], prev: str) -> Entry:
    """A new entry, linked to the previous entry's hash."""
    return chained(seq, at, kind, actor, subject, canonical(data).decode("utf-8"), prev)


def chained(seq: int, at: str, kind: str, actor: str, subject: str, data_json: str, prev: str) -> Entry:
    """A new entry whose data is already canonical JSON (`canonical`), linked to the previous entry's hash."""
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
        """The checkpoint as exported: its fields, in order (also the columns of the tables that hold one)."""
        return asdict(self)


_CHECKPOINT_TEXTS = {"hash": 64, "at": 27, "key": 64, "signature": 128}  # the columns' widths (store.tables)


def checkpoint_from(data: object) -> Checkpoint:
    """A checkpoint or head read from JSON (as exported, or sent to a witness); ValueError says what is wrong."""
    if not isinstance(data, dict) or set(data) != {"seq", *_CHECKPOINT_TEXTS}:
        raise ValueError(f"a signed head is an object with exactly seq, {', '.join(_CHECKPOINT_TEXTS)}")
    seq = data["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**63:
        raise ValueError("seq: expected an entry number from 0 to 2^63 - 1")
    for name, width in _CHECKPOINT_TEXTS.items():
        if not isinstance(data[name], str) or not 0 < len(data[name]) <= width or not data[name].isascii():
            raise ValueError(f"{name}: expected ASCII text of 1 to {width} characters")
    return Checkpoint(seq, data["hash"], data["at"], data["key"], data["signature"])


@dataclass(frozen=True, slots=True)
class Witnessed:
    """What a witness (a partner) holds of this node's log: the last signed head it was given, and its keys.

    `keys` are the fingerprints of the signing keys the witness trusts, or trusted, for this node, oldest first.
    """

    party: str
    head: Checkpoint | None
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking a log: intact, or the first entry found wrong and what is wrong with it.

    `first_key` is the fingerprint of the key the log's line of keys begins with; `witnesses` says, per witness,
    whether what it holds agrees with the log.
    """

    intact: bool
    entries: int
    checkpoints: int
    first_key: str | None = None
    witnesses: tuple[dict[str, Any], ...] = ()
    # Where the log first goes wrong, and how; None while it is intact.
    first_bad: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; the first five keys are those of every earlier version."""
        return {
            "intact": self.intact,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad,
            "problem": self.problem,
            "first_key": self.first_key,
            "witnesses": list(self.witnesses),
        }


@dataclass(slots=True)
class _Walk:
    """What one pass over the entries found: how many, the last, the rotations, and the hashes asked for."""

    count: int = 0
    last: int = 0
    last_hash: str = GENESIS
    rotations: list[Entry] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    bad: tuple[int, str] | None = None


def _walk(entries: Iterable[Sequence[Any]], marks: dict[int, Checkpoint], wanted: set[int]) -> _Walk:
    """Follow the chain from its genesis; stop at the first entry that is wrong."""
    walk = _Walk()
    expected_seq, prev = 1, GENESIS
    # The loop runs once per entry of the log (a million and more): fields are unpacked, not looked up.
    for row in entries:
        seq, at, kind, actor, subject, data_json, row_prev, row_hash = row
        walk.count += 1
        if seq != expected_seq:
            what = "missing (removed)" if seq > expected_seq else "out of order or inserted"
            walk.bad = (expected_seq, f"entry {expected_seq} is {what}: found entry {seq} in its place")
        elif row_prev != prev:
            walk.bad = (seq, f"entry {seq} does not follow entry {seq - 1} (inserted or reordered)")
        elif entry_hash(seq, at, kind, actor, subject, data_json, row_prev) != row_hash:
            walk.bad = (seq, f"entry {seq} was changed: its content does not match its hash")
        elif seq in marks and marks[seq].hash != row_hash:
            walk.bad = (seq, f"entry {seq} does not match the signed checkpoint at it")
        elif seq == 1 and kind != NODE_CREATED:
            walk.bad = (1, f"entry 1 is {kind!r}, not the node's creation: the log does not begin at its genesis")
        if walk.bad is not None:
            return walk
        if kind == KEY_ROTATED:
            walk.rotations.append(Entry(*row))
        if seq in wanted:
            walk.hashes[seq] = row_hash
        prev, expected_seq = row_hash, expected_seq + 1
    walk.last, walk.last_hash = expected_seq - 1, prev
    return walk


def verify_chain(
    entries: Iterable[Sequence[Any]],
    checkpoints: Iterable[Checkpoint],
    head: Checkpoint | None,
    public_key: bytes,
    *,
    first_key: str | None = None,
    witnessed: Sequence[Witnessed] = (),
) -> Verification:
    """Check the whole chain, every checkpoint and the head; name the first entry that is wrong.

    `entries` are Entry tuples, or stored rows in the same column order. `public_key` is the node's current
    key; `first_key` the fingerprint of the key its log must begin with (docs/audit.md, "What verification
    trusts"): the recorded rotations must lead back to it, and no key before it is admitted. `witnessed` are
    the heads the node's partners hold: the log must reach each and agree with it.
    """
    marks = sorted(checkpoints, key=lambda checkpoint: checkpoint.seq)
    walk = _walk(entries, {mark.seq: mark for mark in marks}, {w.head.seq for w in witnessed if w.head is not None})

    def result(
        bad: tuple[int, str] | None, line: KeyLine | None = None, seen: tuple[dict[str, Any], ...] = ()
    ) -> Verification:
        first = None if line is None else fingerprint(line.first)
        if bad is None:
            return Verification(
                intact=True, entries=walk.count, checkpoints=len(marks), first_key=first, witnesses=seen
            )
        return Verification(
            intact=False,
            entries=walk.count,
            checkpoints=len(marks),
            first_bad=bad[0],
            problem=bad[1],
            first_key=first,
            witnesses=seen,
        )

    if walk.bad is not None:
        return result(walk.bad)
    line = key_line(public_key, walk.rotations, first_key)
    seen = tuple(_compare(one, walk, line) for one in witnessed)
    bad = (
        _unanchored(line, first_key)
        or _marks_problem(marks, line, walk.last)
        or _head_problem(head, line, walk)
        or next(((one["first_bad_seq"], one["problem"]) for one in seen if one["problem"]), None)
    )
    return result(bad, line, seen)


def _unanchored(line: KeyLine, first_key: str | None) -> tuple[int, str] | None:
    if line.anchored:
        return None
    reached = fingerprint(line.first)
    if not line.first_retired:
        return 1, (
            f"the log's first key is {reached}, not the node's first key {first_key}, and no rotation recorded in "
            "the log leads from one to the other (the node's keys were replaced, or the log is another's)"
        )
    return line.first_retired, (
        f"the rotation at entry {line.first_retired} leads from the key {reached}, which is not the node's first "
        f"key {first_key} nor reached from it by a rotation: the log was rewritten and signed by another key"
    )


def _marks_problem(marks: list[Checkpoint], line: KeyLine, last: int) -> tuple[int, str] | None:
    for mark in marks:
        if not is_signed_by_node(mark, line.signers):
            return mark.seq, _not_the_nodes(f"the checkpoint at entry {mark.seq}", mark, line)
        if mark.seq > last:
            return last + 1, f"entries {last + 1}..{mark.seq} were removed (a checkpoint signed entry {mark.seq})"
    return None


def _not_the_nodes(what: str, mark: Checkpoint, line: KeyLine) -> str:
    """Why a signature is not the node's; naming the forged rotation when one leads from its key."""
    seq = line.refused.get(mark.key)
    if seq is None:
        return f"{what} is not signed by this node's key"
    return (
        f"{what} is signed by the key {fingerprint_of(mark.key)}, which is not the node's: the rotation at entry "
        f"{seq} leads from it to a key of the node, but the node's first key is {fingerprint(line.first)} (the "
        "log was rewritten and signed by another key)"
    )


def _head_problem(head: Checkpoint | None, line: KeyLine, walk: _Walk) -> tuple[int, str] | None:
    last = walk.last
    if head is None:
        return None
    if not is_signed_by_node(head, line.signers):
        return head.seq, _not_the_nodes("the signed head of the log", head, line)
    if head.seq > last:
        return last + 1, f"the tail was cut: the signed head is entry {head.seq}, the log ends at {last}"
    if head.seq < last:
        return head.seq + 1, f"entries after {head.seq} were appended outside the node (no signed head)"
    if head.hash != walk.last_hash:
        return last, f"entry {last} does not match the signed head"
    return None


def _compare(witnessed: Witnessed, walk: _Walk, line: KeyLine) -> dict[str, Any]:
    """What one witness's record says of the log: agrees, or the problem it shows (as CT's witnesses do)."""
    party, head = witnessed.party, witnessed.head
    seq = None if head is None else head.seq

    def disagrees(first_bad: int, problem: str) -> dict[str, Any]:
        return {
            "party": party,
            "reached": True,
            "seq": seq,
            "agrees": False,
            "first_bad_seq": first_bad,
            "problem": problem,
        }

    ours = {fingerprint(unb64(key)) for key in line.signers}
    strange = [key for key in witnessed.keys if key not in ours]
    if strange:
        return disagrees(1, f"witness {party} trusts the key {strange[0]} for this node, which the log never reaches")
    if head is not None:
        if not is_signed_by_node(head, line.signers):
            return disagrees(head.seq, f"the head witness {party} holds is not signed by a key of this log")
        if head.seq > walk.last:
            return disagrees(
                walk.last + 1,
                f"the log ends at entry {walk.last}, but witness {party} holds a head this node signed at entry "
                f"{head.seq}: the tail was cut",
            )
        if walk.hashes.get(head.seq) != head.hash:
            return disagrees(
                head.seq,
                f"entry {head.seq} is not the one witness {party} holds a signed head of: the log was rewritten",
            )
    return {"party": party, "reached": True, "seq": seq, "agrees": True, "first_bad_seq": None, "problem": None}
