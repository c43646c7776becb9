"""What audit verification trusts besides the log itself: the node's first key, as its folder or its partners know it.

An insider who can rewrite the database can rewrite every entry, checkpoint and head, and sign them with a key
of his own; a `key-rotated` entry signed by that key can even lead to the node's real key. What he cannot
rewrite is where the node's line of keys begins: the key its partners trusted when they checked its
fingerprint, which the node's folder keeps as the oldest of its retired keys (`retired_keys.toml`), or as its
current key when it never rotated (docs/audit.md, "What verification trusts").
"""

from __future__ import annotations

import re
import tomllib
from typing import TYPE_CHECKING, Any

from pactnet.crypto.keys import fingerprint, unb64
from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from pathlib import Path

RETIRED_KEYS_FILE = "retired_keys.toml"
# crypto.keys.fingerprint: the first 16 bytes of the key's SHA-256, hex, in eight groups of four.
_FINGERPRINT = re.compile(r"[0-9a-f]{4}(?::[0-9a-f]{4}){7}")
# RFC 8032 §5.1.5: a raw Ed25519 public key is 32 bytes.
_KEY_SIZE = 32


class AuditTrustError(PactnetError):
    """What verification would trust is unreadable: a fingerprint given, or the folder's record of keys."""


def read_fingerprint(text: str) -> str:
    """A key fingerprint as `pactnet node identity` shows it (`a72a:a39d:…`, eight groups), or AuditTrustError."""
    value = text.strip().lower()
    if not _FINGERPRINT.fullmatch(value):
        raise AuditTrustError(
            f"{text[:80]!r} is not a key fingerprint: expected eight groups of four hex digits joined by ':' "
            "(the `fingerprint` of the node's identity document)"
        )
    return value


def first_key_on_record(folder: Path, current: bytes) -> str:
    """The fingerprint of the node's first signing key: the oldest retired key on record, else the current key."""
    path = folder / RETIRED_KEYS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return fingerprint(current)
    except (OSError, UnicodeDecodeError) as error:
        raise AuditTrustError(f"cannot read {path}: {error}") from error
    try:
        retired: Any = tomllib.loads(text).get("retired_keys")
        oldest = unb64(retired[0]["signing_key"])
    except (tomllib.TOMLDecodeError, ValueError, TypeError, KeyError, IndexError) as error:
        raise AuditTrustError(
            f"{path} does not list the node's retired keys (retired_keys[0].signing_key): {error}"
        ) from error
    if len(oldest) != _KEY_SIZE:
        raise AuditTrustError(f"{path}: retired_keys[0].signing_key is not a {_KEY_SIZE}-byte public key")
    return fingerprint(oldest)
