"""A node's keys: Ed25519 for signing, X25519 for encryption; generated, stored owner-only, never logged."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from pathlib import Path

SIGNING_KEY_FILE = "signing.key"
ENCRYPTION_KEY_FILE = "encryption.key"


class KeyFileError(PactnetError):
    """A key file is missing, unreadable or not a key of the expected kind."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 bytes of its SHA-256, hex, in groups of four."""
    digest = hashlib.sha256(public_key).hexdigest()[:32]
    return ":".join(digest[index : index + 4] for index in range(0, 32, 4))


@dataclass(frozen=True, slots=True)
class NodeKeys:
    """The node's private keys; `public_signing` and `public_encryption` may be shown to anyone."""

    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @classmethod
    def generate(cls) -> NodeKeys:
        """Fresh keys from the operating system's randomness."""
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @property
    def public_signing(self) -> bytes:
        """The raw Ed25519 public key."""
        return _raw_public(self.signing.public_key())

    @property
    def public_encryption(self) -> bytes:
        """The raw X25519 public key."""
        return self.encryption.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of `message`."""
        return self.signing.sign(message)

    def save(self, folder: Path) -> None:
        """Write both private keys as PKCS#8 PEM files that only the owner can read (mode 0600)."""
        for name, key in ((SIGNING_KEY_FILE, self.signing), (ENCRYPTION_KEY_FILE, self.encryption)):
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path = folder / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)

    @classmethod
    def load(cls, folder: Path) -> NodeKeys:
        """Read the keys written by `save`; a missing or wrong file is a KeyFileError naming it."""
        signing = _load(folder / SIGNING_KEY_FILE)
        encryption = _load(folder / ENCRYPTION_KEY_FILE)
        if not isinstance(signing, Ed25519PrivateKey):
            raise KeyFileError(f"{folder / SIGNING_KEY_FILE} is not an Ed25519 private key")
        if not isinstance(encryption, X25519PrivateKey):
            raise KeyFileError(f"{folder / ENCRYPTION_KEY_FILE} is not an X25519 private key")
        return cls(signing, encryption)


def _load(path: Path) -> object:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read the key file {path}: {error.strerror}") from error
    try:
        return serialization.load_pem_private_key(data, password=None)
    except ValueError as error:
        raise KeyFileError(f"{path} does not hold a PEM private key") from error


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether `signature` is a valid Ed25519 signature of `message` by `public_key`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def b64(data: bytes) -> str:
    """Unpadded URL-safe base64, the way keys and signatures are written in JSON."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """The inverse of `b64`; raises ValueError on anything else."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as error:
        raise ValueError(f"not base64url: {text[:20]!r}") from error
