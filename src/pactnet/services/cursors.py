"""Opaque positions: what a client resumes a listing or a stream from, sealed to reveal and admit nothing.

A position is a report's or an audit entry's `seq`. Shown as it is, the gap between two positions a user is
given would count the items or entries the user may not read (need to know, GSOMIA art. 7, holds for counts
too: issue 17, item 8), and a client could ask from any position it likes. So a position is sealed with
ChaCha20-Poly1305 (RFC 8439) under a key derived from the node's signing key with HKDF (RFC 5869), bound to
one user and one purpose: each cursor is fresh (a random nonce), says nothing of the position, and one
changed, forged, another user's or another purpose's is refused. A key rotation makes earlier cursors
unreadable: the client starts again without one.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactnet.services import ConflictError, ServiceError

if TYPE_CHECKING:
    from pactnet.crypto.keys import NodeKeys

_INFO = b"pactnet cursor key/1"
_NONCE = 12
_POSITION = struct.Struct(">Q")
_SEALED = _NONCE + _POSITION.size + 16  # nonce, position, Poly1305 tag
_PREFIX = "c1."
_TEXT = re.compile(r"c1\.[A-Za-z0-9_-]+")
LONGEST = len(_PREFIX) + (4 * _SEALED + 2) // 3
# What a listing's `cursor` parameter must look like (checked by the API's schema before it is opened).
PATTERN = rf"^c1\.[A-Za-z0-9_-]{{{LONGEST - len(_PREFIX)}}}$"
LISTING = "listing"


class BadCursorError(ServiceError):
    """A cursor this node did not give this user for this purpose, or one changed since (400)."""


class Cursors:
    """Seals and opens positions for one purpose (`events`, …) with a key of the node's own."""

    def __init__(self, keys: NodeKeys, purpose: str) -> None:
        secret = keys.signing.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
        self._aead = ChaCha20Poly1305(key)
        self._purpose = purpose

    def _bound(self, user_id: int) -> bytes:
        """The associated data: a cursor opens only for the purpose and the user it was sealed for."""
        return f"pactnet-cursor/1\n{self._purpose}\n{user_id}".encode()

    def seal(self, position: int, user_id: int) -> str:
        """A fresh opaque cursor for `position`, for this user only."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, _POSITION.pack(position), self._bound(user_id))
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def open(self, cursor: str, user_id: int) -> int:
        """The position a cursor of this user holds; BadCursorError for anything else."""
        refused = BadCursorError(
            f"the {self._purpose} cursor is not one this node gave you (changed, another user's, or from before "
            "a key rotation): start again without it",
            [{"code": "bad-cursor"}],
        )
        if len(cursor) > LONGEST or not _TEXT.fullmatch(cursor):
            raise refused
        text = cursor[len(_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as error:
            raise refused from error
        if len(raw) != _SEALED:
            raise refused
        try:
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._bound(user_id))
        except InvalidTag as error:
            raise refused from error
        (position,) = _POSITION.unpack(plain)
        return int(position)


def seal_cursor(keys: NodeKeys, position: int, user_id: int) -> str:
    """The `next` cursor of a listing page, for this user only."""
    return Cursors(keys, LISTING).seal(position, user_id)


def open_cursor(keys: NodeKeys, cursor: str | None, user_id: int) -> int | None:
    """The position a listing cursor this node gave this user stands for; ConflictError for any other."""
    if cursor is None:
        return None
    try:
        return Cursors(keys, LISTING).open(cursor, user_id)
    except BadCursorError as error:
        # 409, not 422: the string is a cursor in form; it does not continue a listing this user can resume now.
        raise ConflictError(
            "cursor: not one this node gave this user, or given before its keys were rotated; list again without it"
        ) from error
