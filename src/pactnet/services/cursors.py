"""Listing cursors that say nothing: a position sealed with a key only this node holds.

A cursor that was the raw sequence number of the last item shown let a user subtract two of his cursors and
learn how many items he may not see were stored between them (issue 17, item 8). A cursor is now the position
encrypted and authenticated (AES-256-GCM, a fresh nonce each time) under a key derived from the node's signing
key (HKDF-SHA256, for this use only), bound to the user it was given to: it reveals no count, cannot be forged or
altered, and is of no use to another user. A key rotation invalidates the cursors given out before it.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactnet.crypto.keys import b64, unb64
from pactnet.services import ConflictError

if TYPE_CHECKING:
    from pactnet.crypto.keys import NodeKeys

INFO = b"pactnet listing cursor/1"
PREFIX = "c"
# A cursor is the prefix and base64url of the nonce (12 bytes), the position (8) and the GCM tag (16).
PATTERN = r"^c[A-Za-z0-9_-]{48}$"
_NONCE = 12


def _key(keys: NodeKeys) -> AESGCM:
    secret = keys.signing.private_bytes_raw()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret))


def seal_cursor(keys: NodeKeys, position: int, holder: str) -> str:
    """The opaque cursor of a position in a listing, for `holder` only."""
    nonce = os.urandom(_NONCE)
    sealed = _key(keys).encrypt(nonce, struct.pack(">q", position), holder.encode("utf-8"))
    return PREFIX + b64(nonce + sealed)


def open_cursor(keys: NodeKeys, cursor: str | None, holder: str) -> int | None:
    """The position a cursor this node gave `holder` stands for; ConflictError for any other string."""
    if cursor is None:
        return None
    # 409, not 422: the string is a cursor in form; it does not continue a listing this user can resume now.
    refused = ConflictError(
        "cursor: not one this node gave this user, or given before its keys were rotated; list again without it"
    )
    try:
        data = unb64(cursor.removeprefix(PREFIX)) if cursor.startswith(PREFIX) else b""
        position: int = struct.unpack(">q", _key(keys).decrypt(data[:_NONCE], data[_NONCE:], holder.encode("utf-8")))[0]
    except (ValueError, InvalidTag, struct.error) as error:
        raise refused from error
    return position
