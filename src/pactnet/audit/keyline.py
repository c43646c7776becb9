"""The node's line of signing keys, as its audit log records it: walked back from the current key to the first.

A key rotation is recorded in the chain itself (a `key-rotated` entry holding the statement signed by the old
key), so that checkpoints signed before it still verify once the node holds its new key. The walk stops at the
key the log must begin with (pactnet.audit.trust): no key before it is admitted, whatever rotation leads from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pactnet.crypto.identity import IdentityError, read_rotation
from pactnet.crypto.keys import b64, fingerprint, unb64

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pactnet.audit.chain import Checkpoint, Entry
    from pactnet.crypto.identity import Rotation


@dataclass(frozen=True, slots=True)
class KeyLine:
    """The node's signing keys that the log admits, each with the last entry it may sign (None: the current key).

    `first` is the key the line begins with, retired at entry `first_retired` (0: never retired); `anchored`
    says whether that is the key the log must begin with (always, when none is given).
    """

    signers: dict[str, int | None]
    first: bytes
    first_retired: int
    anchored: bool
    # Keys a recorded rotation leads from into the line, not admitted (they come before the first key): the
    # rotation's entry, to name in the report.
    refused: dict[str, int] = field(default_factory=dict)


def _rotation_in(entry: Entry) -> Rotation | None:
    try:
        statement = entry.data["rotation"]
        return read_rotation(statement) if isinstance(statement, dict) else None
    except (KeyError, ValueError, IdentityError):
        return None


def key_line(public_key: bytes, rotations: Iterable[Entry], first_key: str | None = None) -> KeyLine:
    """Walk back from the current key through the recorded rotations, stopping at `first_key` (a fingerprint).

    Each rotation whose new key is the one reached retires its old key at the rotation's entry; a rotation
    outside that line (recorded, then never completed) grants nothing. The walk stops at the key the log must
    begin with: a rotation leading to it from another key (one an attacker made with a key of his own) would
    otherwise admit that key for everything before it.
    """
    keys: dict[str, int | None] = {b64(public_key): None}
    current, retired = public_key, 0
    read = [(entry.seq, _rotation_in(entry)) for entry in sorted(rotations, key=lambda one: one.seq, reverse=True)]
    for seq, rotation in read:
        if first_key is not None and fingerprint(current) == first_key:
            break
        if rotation is not None and rotation.signing_key == current:
            current, retired = rotation.old_signing_key, seq
            keys.setdefault(b64(current), seq)
    anchored = first_key is None or fingerprint(current) == first_key
    refused = {
        b64(rotation.old_signing_key): seq
        for seq, rotation in read
        if rotation is not None and b64(rotation.signing_key) in keys and b64(rotation.old_signing_key) not in keys
    }
    return KeyLine(keys, current, retired, anchored, refused)


def node_signing_keys(public_key: bytes, rotations: Iterable[Entry]) -> dict[str, int | None]:
    """The node's signing keys (base64url), each with the last entry it may sign (None: the current key)."""
    return key_line(public_key, rotations).signers


def fingerprint_of(key: str) -> str:
    """The fingerprint of a base64url key as a checkpoint names it (its text, if it is not base64url)."""
    try:
        return fingerprint(unb64(key))
    except ValueError:
        return repr(key[:64])


def is_signed_by_node(mark: Checkpoint, signers: dict[str, int | None]) -> bool:
    """Whether `mark` is signed by one of `signers`, and no later than the last entry that key may sign."""
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
