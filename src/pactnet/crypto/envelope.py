"""Node-to-node envelopes: signed by the sender (Ed25519), encrypted to the recipient (X25519, HKDF, AES-256-GCM).

Sealing: a fresh X25519 key pair per envelope; the AES-256-GCM key is HKDF-SHA256 of the X25519 shared secret,
salted with both public keys, for this format only; the clear header (id, sender, recipient, instant, kind) is
the GCM associated data, so it cannot be changed without failing decryption; the sender signs the header and the
ciphertext together (sign-then-encrypt would hide the signer from a relay; encrypt-then-sign lets a receiver
refuse a forged envelope before decrypting anything). Built only on the `cryptography` package's primitives.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactnet.crypto.keys import NodeKeys, b64, unb64, verify
from pactnet.errors import PactnetError
from pactnet.json_bounds import JsonBoundsError, parse_bounded

FORMAT = "pactnet.envelope/1"
INFO = b"pactnet-envelope/1 aes-256-gcm"
SIGNED_DOMAIN = b"pactnet-envelope/1 signature\n"
# How far the instant of sending may be from the receiver's clock, either way. Nodes keep their clocks with
# NTP; five minutes absorbs ordinary drift and queueing, and bounds how long a captured envelope stays usable.
MAX_SKEW = timedelta(minutes=5)
HEADER_FIELDS = ("format", "id", "from", "to", "sent_at", "kind")


class EnvelopeError(PactnetError):
    """An envelope that must be refused; `code` says why in a stable word."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _aead_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=INFO).derive(shared)


def _signed_bytes(header: dict[str, Any], ephemeral: str, nonce: str, ciphertext: str) -> bytes:
    return SIGNED_DOMAIN + _canonical(header | {"epk": ephemeral, "nonce": nonce, "ciphertext": ciphertext})


@dataclass(frozen=True, slots=True)
class Opened:
    """What a receiver learns from a valid envelope."""

    id: str
    sender: str
    recipient: str
    sent_at: datetime
    kind: str
    payload: dict[str, Any]


class UnreadableEnvelopeError(EnvelopeError):
    """An envelope its sender really signed whose content cannot be read.

    A small-order ephemeral key, or plaintext that is not bounded JSON text (pactnet.json_bounds). `opened` is
    its verified header with an empty payload, so that the receiver can answer it with a signed refusal.
    """

    def __init__(self, code: str, message: str, opened: Opened) -> None:
        super().__init__(code, message)
        self.opened = opened


def seal(
    keys: NodeKeys,
    sender: str,
    recipient: str,
    recipient_encryption_key: bytes,
    kind: str,
    payload: dict[str, Any],
    sent_at: datetime,
    envelope_id: str | None = None,
) -> dict[str, Any]:
    """An envelope carrying `payload` from `sender` to `recipient`, as a JSON-ready dict."""
    header = {
        "format": FORMAT,
        "id": envelope_id or uuid.uuid4().hex,
        "from": sender,
        "to": recipient,
        "sent_at": sent_at.isoformat(),
        "kind": kind,
    }
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_encryption_key))
    nonce = os.urandom(12)
    key = _aead_key(shared, ephemeral_public, recipient_encryption_key)
    ciphertext = AESGCM(key).encrypt(nonce, _canonical(payload), _canonical(header))
    fields = {"epk": b64(ephemeral_public), "nonce": b64(nonce), "ciphertext": b64(ciphertext)}
    signature = keys.sign(_signed_bytes(header, fields["epk"], fields["nonce"], fields["ciphertext"]))
    return header | fields | {"signature": b64(signature)}


def _header(envelope: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in (*HEADER_FIELDS, "epk", "nonce", "ciphertext", "signature") if name not in envelope]
    if missing:
        raise EnvelopeError("malformed", f"the envelope lacks {', '.join(missing)}")
    if envelope["format"] != FORMAT:
        raise EnvelopeError("malformed", f"unknown envelope format {envelope['format']!r} (expected {FORMAT})")
    if not all(isinstance(envelope[name], str) for name in (*HEADER_FIELDS, "epk", "nonce", "ciphertext", "signature")):
        raise EnvelopeError("malformed", "every field of an envelope is a string")
    return {name: envelope[name] for name in HEADER_FIELDS}


def check_addressed(envelope: dict[str, Any], me: str) -> None:
    """Raise EnvelopeError unless the envelope is well formed and addressed to `me`, before its sender is known.

    Run before the sender is looked up among the partners, so that these answers are the same whoever claims
    to have sent it: an answer that depended on the sender would tell anyone which parties a node trusts.
    """
    header = _header(envelope)
    if header["to"] != me:
        raise EnvelopeError("wrong-recipient", f"the envelope is for {header['to'][:64]}, not {me}")
    try:
        sizes = [len(unb64(envelope[name])) for name in ("epk", "nonce", "signature")]
        unb64(envelope["ciphertext"])
    except ValueError as error:
        raise EnvelopeError("malformed", "a binary field of the envelope is not base64url") from error
    if sizes != [32, 12, 64]:  # X25519 key, GCM nonce, Ed25519 signature
        raise EnvelopeError("malformed", "the ephemeral key, the nonce or the signature has the wrong length")


def sender_of(envelope: dict[str, Any]) -> str:
    """Who claims to have sent the envelope (not yet verified)."""
    return str(_header(envelope)["from"])


def open_envelope(
    keys: NodeKeys,
    me: str,
    envelope: dict[str, Any],
    sender_signing_key: bytes,
    now: datetime,
    max_skew: timedelta = MAX_SKEW,
) -> Opened:
    """Verify an envelope addressed to `me` and return its payload; raises EnvelopeError with the reason."""
    header = _header(envelope)
    if header["to"] != me:
        raise EnvelopeError("wrong-recipient", f"the envelope is for {header['to']}, not {me}")
    try:
        signature = unb64(envelope["signature"])
        ephemeral = unb64(envelope["epk"])
        nonce = unb64(envelope["nonce"])
        ciphertext = unb64(envelope["ciphertext"])
    except ValueError as error:
        raise EnvelopeError("malformed", "a binary field of the envelope is not base64url") from error
    signed = _signed_bytes(header, envelope["epk"], envelope["nonce"], envelope["ciphertext"])
    if not verify(sender_signing_key, signature, signed):
        raise EnvelopeError("bad-signature", f"the signature is not {header['from']}'s")
    sent_at = _sent_at(header, now, max_skew)
    if len(ephemeral) != 32 or len(nonce) != 12:  # noqa: PLR2004 - X25519 key and GCM nonce sizes
        raise EnvelopeError("malformed", "the ephemeral key or the nonce has the wrong length")
    verified = Opened(header["id"], header["from"], header["to"], sent_at, header["kind"], {})
    recipient_public = keys.public_encryption
    try:
        shared = keys.encryption.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError as error:
        # RFC 7748 §6.1: an all-zero shared secret, from an ephemeral key of small order (all zeros among them).
        message = "the ephemeral key is of small order: it agrees no secret"
        raise UnreadableEnvelopeError("bad-ephemeral-key", message, verified) from error
    key = _aead_key(shared, ephemeral, recipient_public)
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _canonical(header))
    except InvalidTag as error:
        raise EnvelopeError("undecryptable", "the ciphertext was altered or not made for this node's key") from error
    try:
        payload = parse_bounded(plaintext)
    except JsonBoundsError as error:
        raise UnreadableEnvelopeError("malformed-payload", f"the payload is {error}", verified) from error
    if not isinstance(payload, dict):
        raise UnreadableEnvelopeError("malformed-payload", "the payload is not a JSON object", verified)
    return Opened(header["id"], header["from"], header["to"], sent_at, header["kind"], payload)


def _sent_at(header: dict[str, Any], now: datetime, max_skew: timedelta) -> datetime:
    """The instant of sending, if it is one and within `max_skew` of now."""
    try:
        sent_at = datetime.fromisoformat(header["sent_at"])
    except ValueError as error:
        raise EnvelopeError("malformed", f"sent_at {header['sent_at'][:64]!r} is not an instant") from error
    if sent_at.tzinfo is None:
        raise EnvelopeError("malformed", "sent_at has no UTC offset")
    try:
        skew = abs(now - sent_at)
    except OverflowError as error:  # an offset past the calendar's first or last day
        raise EnvelopeError("stale", f"sent at {header['sent_at'][:64]}, outside the calendar in UTC") from error
    if skew > max_skew:
        raise EnvelopeError("stale", f"sent at {header['sent_at'][:64]}, more than {max_skew} from {now.isoformat()}")
    return sent_at
