"""A node's public identity document, its key rotation statements, and which partner keys are valid when.

Both documents are JSON objects signed with Ed25519 over a domain string followed by the canonical JSON (sorted
keys, no spaces, UTF-8) of every other field; keys are raw public keys in unpadded base64url. An identity is
signed by its own signing key (it proves possession; trust comes from the operator checking the fingerprint out
of band). A rotation is signed by the node's *old* signing key, so a partner that trusts the old key can move to
the new one without another out-of-band check. Built only on the `cryptography` package's primitives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from pactnet.crypto.keys import b64, fingerprint, unb64, verify
from pactnet.errors import PactnetError
from pactnet.policy.clock import parse_instant

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.crypto.keys import NodeKeys

IDENTITY_FORMAT = "pactnet.identity/1"
ROTATION_FORMAT = "pactnet.rotation/1"
IDENTITY_DOMAIN = b"pactnet-identity/1 signature\n"
ROTATION_DOMAIN = b"pactnet-rotation/1 signature\n"
# RFC 8032 §5.1.5 and RFC 7748 §5: raw Ed25519 and X25519 public keys are 32 bytes.
KEY_SIZE = 32
IDENTITY_FIELDS = ("format", "party", "url", "signing_key", "encryption_key", "fingerprint", "issued_at", "signature")
ROTATION_FIELDS = (
    "format",
    "party",
    "old_signing_key",
    "old_fingerprint",
    "signing_key",
    "encryption_key",
    "fingerprint",
    "rotated_at",
    "signature",
)


class IdentityError(PactnetError):
    """An identity document or rotation statement that must be refused; the message names the field."""


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _unsigned(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != "signature"}


class _SigningKeyHolder:
    """What holds one of a party's signing keys, known by that key's fingerprint."""

    __slots__ = ()
    signing_key: bytes

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the signing key (a rotation's new one), to be compared out of band before trusting."""
        return fingerprint(self.signing_key)


@dataclass(frozen=True, slots=True)
class Identity(_SigningKeyHolder):
    """A verified identity: who the node speaks for, where it listens, and its public keys."""

    party: str
    url: str
    signing_key: bytes
    encryption_key: bytes
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class Rotation(_SigningKeyHolder):
    """A verified rotation: the party's keys from `rotated_at` on, vouched for by its old signing key."""

    party: str
    old_signing_key: bytes
    signing_key: bytes
    encryption_key: bytes
    rotated_at: datetime

    @property
    def old_fingerprint(self) -> str:
        """The fingerprint of the signing key being retired."""
        return fingerprint(self.old_signing_key)


def build_identity(keys: NodeKeys, party: str, url: str, issued_at: datetime) -> dict[str, Any]:
    """This node's identity document, self-signed, as a JSON-ready dict."""
    _check_party(party)
    check_url(url)
    _check_instant("issued_at", issued_at)
    document = {
        "format": IDENTITY_FORMAT,
        "party": party,
        "url": url,
        "signing_key": b64(keys.public_signing),
        "encryption_key": b64(keys.public_encryption),
        "fingerprint": fingerprint(keys.public_signing),
        "issued_at": issued_at.isoformat(),
    }
    return document | {"signature": b64(keys.sign(IDENTITY_DOMAIN + _canonical(document)))}


def build_rotation(old: NodeKeys, new: NodeKeys, party: str, rotated_at: datetime) -> dict[str, Any]:
    """A statement, signed by the `old` signing key, that `party`'s keys are `new`'s from `rotated_at` on."""
    _check_party(party)
    _check_instant("rotated_at", rotated_at)
    if old.public_signing == new.public_signing:
        raise IdentityError("a rotation needs a new signing key, not the old one again")
    document = {
        "format": ROTATION_FORMAT,
        "party": party,
        "old_signing_key": b64(old.public_signing),
        "old_fingerprint": fingerprint(old.public_signing),
        "signing_key": b64(new.public_signing),
        "encryption_key": b64(new.public_encryption),
        "fingerprint": fingerprint(new.public_signing),
        "rotated_at": rotated_at.isoformat(),
    }
    return document | {"signature": b64(old.sign(ROTATION_DOMAIN + _canonical(document)))}


def parse_document(text: str | bytes) -> dict[str, Any]:
    """The JSON object of an identity or rotation file, or an IdentityError saying why it is not one."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise IdentityError(f"not a JSON document ({error})") from error
    if not isinstance(document, dict):
        raise IdentityError("not a JSON object: an identity or rotation document is an object")
    return document


def document_format(document: dict[str, Any]) -> str:
    """The document's `format`, which must be the identity's or the rotation's."""
    kind = document.get("format")
    if kind not in {IDENTITY_FORMAT, ROTATION_FORMAT}:
        raise IdentityError(f"format: expected {IDENTITY_FORMAT!r} or {ROTATION_FORMAT!r}, found {kind!r}")
    return str(kind)


def verify_identity(document: dict[str, Any]) -> Identity:
    """Check an identity document's fields, key sizes, fingerprint and self-signature; the verified identity."""
    _check_fields(document, IDENTITY_FIELDS, IDENTITY_FORMAT)
    signing_key = _key(document, "signing_key", Ed25519PublicKey)
    encryption_key = _key(document, "encryption_key", X25519PublicKey)
    _check_fingerprint(document, "fingerprint", signing_key)
    _check_party(document["party"])
    check_url(document["url"])
    issued_at = _instant(document, "issued_at")
    _check_signature(document, signing_key, IDENTITY_DOMAIN, "the identity is not signed by its own signing key")
    return Identity(document["party"], document["url"], signing_key, encryption_key, issued_at)


def read_rotation(document: dict[str, Any]) -> Rotation:
    """Check a rotation statement's fields, key sizes, fingerprints, and its signature by the key it retires.

    This does not say the retired key was ever trusted: `verify_rotation` does.
    """
    _check_fields(document, ROTATION_FIELDS, ROTATION_FORMAT)
    old_key = _key(document, "old_signing_key", Ed25519PublicKey)
    signing_key = _key(document, "signing_key", Ed25519PublicKey)
    encryption_key = _key(document, "encryption_key", X25519PublicKey)
    _check_fingerprint(document, "old_fingerprint", old_key)
    _check_fingerprint(document, "fingerprint", signing_key)
    _check_party(document["party"])
    rotated_at = _instant(document, "rotated_at")
    if signing_key == old_key:
        raise IdentityError("signing_key: a rotation must name a new key, not the old one")
    _check_signature(document, old_key, ROTATION_DOMAIN, "the rotation is not signed by the key it retires")
    return Rotation(document["party"], old_key, signing_key, encryption_key, rotated_at)


def verify_rotation(document: dict[str, Any], trusted_signing_key: bytes) -> Rotation:
    """Check a rotation statement and that the currently trusted key signed it; the verified rotation."""
    rotation = read_rotation(document)
    if rotation.old_signing_key != trusted_signing_key:
        raise IdentityError(
            f"the rotation retires the key {rotation.old_fingerprint}, but the trusted key is "
            f"{fingerprint(trusted_signing_key)}: only the currently trusted key can vouch for a new one"
        )
    return rotation


def _check_fields(document: dict[str, Any], expected: tuple[str, ...], kind: str) -> None:
    if document.get("format") != kind:
        raise IdentityError(f"format: expected {kind!r}, found {document.get('format')!r}")
    missing = [name for name in expected if name not in document]
    if missing:
        raise IdentityError(f"the document lacks {', '.join(missing)}")
    unknown = sorted(set(document) - set(expected))
    if unknown:
        raise IdentityError(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (not signed)")
    wrong = [name for name in expected if not isinstance(document[name], str)]
    if wrong:
        raise IdentityError(f"{', '.join(wrong)}: expected a string")


def _key(document: dict[str, Any], name: str, kind: type[Ed25519PublicKey | X25519PublicKey]) -> bytes:
    try:
        raw = unb64(document[name])
    except ValueError as error:
        raise IdentityError(f"{name}: not base64url") from error
    if len(raw) != KEY_SIZE:
        raise IdentityError(f"{name}: a raw public key is {KEY_SIZE} bytes, found {len(raw)}")
    try:
        kind.from_public_bytes(raw)
    except ValueError as error:
        raise IdentityError(f"{name}: not a valid public key") from error
    return raw


def _check_fingerprint(document: dict[str, Any], name: str, key: bytes) -> None:
    if document[name] != fingerprint(key):
        raise IdentityError(f"{name}: {document[name]!r} is not the fingerprint of the key ({fingerprint(key)})")


def _check_signature(document: dict[str, Any], key: bytes, domain: bytes, problem: str) -> None:
    try:
        signature = unb64(document["signature"])
    except ValueError as error:
        raise IdentityError("signature: not base64url") from error
    if not verify(key, signature, domain + _canonical(_unsigned(document))):
        raise IdentityError(f"signature: {problem} (forged, or a field was changed)")


def _instant(document: dict[str, Any], name: str) -> datetime:
    try:
        return parse_instant(document[name])
    except ValueError as error:
        raise IdentityError(f"{name}: expected {error}") from error


def _check_instant(name: str, at: datetime) -> None:
    if at.tzinfo is None:
        raise IdentityError(f"{name}: an instant needs a UTC offset")


def _check_party(party: object) -> None:
    if not isinstance(party, str) or not party.strip() or party != party.strip():
        raise IdentityError(f"party: expected a party code, found {party!r}")


def check_url(url: object) -> None:
    """A partner's node URL: http or https, with a host, and nothing that would not reach the API root."""
    problem = f"url: expected an http:// or https:// URL of a node, found {url!r}"
    if not isinstance(url, str) or any(character.isspace() for character in url):
        raise IdentityError(problem)
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not a number from 0 to 65535
    except ValueError as error:
        raise IdentityError(problem) from error
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise IdentityError(problem)


@dataclass(frozen=True, slots=True)
class RetiredKey(_SigningKeyHolder):
    """A partner's signing key that a rotation retired: valid for envelopes sent before `retired_at` only."""

    signing_key: bytes
    retired_at: datetime


@dataclass(frozen=True, slots=True)
class KeyHistory:
    """A partner's signing keys over time: the current one and the retired ones, oldest first."""

    signing_key: bytes
    retired: tuple[RetiredKey, ...] = ()

    def rotated(self, rotation: Rotation) -> KeyHistory:
        """The history once `rotation` (already verified against the current key) is accepted."""
        if rotation.old_signing_key != self.signing_key:
            raise IdentityError(f"the rotation does not retire the trusted key {fingerprint(self.signing_key)}")
        if rotation.signing_key == self.signing_key or any(
            old.signing_key == rotation.signing_key for old in self.retired
        ):
            raise IdentityError(f"the rotation brings back the key {rotation.fingerprint}, which was retired")
        if self.retired and rotation.rotated_at <= self.retired[-1].retired_at:
            raise IdentityError(
                f"rotated_at: {rotation.rotated_at.isoformat()} is not after the previous rotation "
                f"({self.retired[-1].retired_at.isoformat()})"
            )
        return KeyHistory(rotation.signing_key, (*self.retired, RetiredKey(self.signing_key, rotation.rotated_at)))


def accept_rotation(history: KeyHistory, document: dict[str, Any]) -> tuple[Rotation, KeyHistory]:
    """Verify a rotation statement against the currently trusted key and the history after it."""
    rotation = verify_rotation(document, history.signing_key)
    return rotation, history.rotated(rotation)


def key_valid_at(history: KeyHistory, key: bytes, at: datetime) -> bool:
    """Whether an envelope signed by `key` and sent at `at` is acceptable: the current key, or one not yet retired.

    The envelope's freshness check (crypto.envelope.MAX_SKEW) bounds how far `at` may be from the receiver's
    clock, so a stolen retired key cannot be used with a back-dated instant for longer than that.
    """
    if key == history.signing_key:
        return True
    return any(old.signing_key == key and at < old.retired_at for old in history.retired)


def head_key_valid_at(history: KeyHistory, key: bytes, at: datetime) -> bool:
    """Whether a signed head of the partner's audit log, made at `at` with `key`, is signed by a key of its.

    As for an envelope, but a retired key is still good at the instant it retired: a rotation is written to the
    log first, its head signed by the old key at the rotation's own instant (pactnet.node.rotate_node_keys), and
    that head stays the log's head until the node writes again.
    """
    return key == history.signing_key or any(old.signing_key == key and at <= old.retired_at for old in history.retired)
