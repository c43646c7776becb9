"""A trusted partner that lies: each envelope it signs but the node cannot read gets a signed refusal of its own.

The envelopes are sealed here as a partner's node would seal them, with its real keys, around plaintext or keys
no honest node sends; the good envelopes of the same batch are accepted (docs/federation.md, "Receiving").
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from pactnet.crypto.envelope import _aead_key, _canonical, _raw, _signed_bytes
from pactnet.crypto.keys import b64
from pactnet.services import audit
from pactnet.services.inbound import receive_batch
from pactnet.store.tables import envelopes
from tests.databases import fresh_postgres_database
from tests.integration.conftest import LoopbackServer
from tests.integration.test_inbound import Pair, pair_of_nodes, transfer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.integration.conftest import Clock

# Points of small order on Curve25519 (RFC 7748 §6.1; Bernstein's list): each gives an all-zero shared secret.
SMALL_ORDER = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
]


@pytest.fixture(name="pair")
def rok_and_jpn(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Pair]:
    """ROK (the lying partner, trusted) and JPN, each on its own database of the kind under test."""
    if database_url.startswith("sqlite"):
        yield from pair_of_nodes(tmp_path, database_url, None, "gsomia-2019", clock)
        return
    with fresh_postgres_database("pactnet_test") as second:
        yield from pair_of_nodes(tmp_path, database_url, second, "gsomia-2019", clock)


def _header(pair: Pair, kind: str) -> dict[str, Any]:
    return {
        "format": "pactnet.envelope/1",
        "id": os.urandom(16).hex(),
        "from": "ROK",
        "to": "JPN",
        "sent_at": pair.clock.at.isoformat(),
        "kind": kind,
    }


def _signed(pair: Pair, header: dict[str, Any], epk: bytes, nonce: bytes, ciphertext: bytes) -> dict[str, Any]:
    fields = {"epk": b64(epk), "nonce": b64(nonce), "ciphertext": b64(ciphertext)}
    signature = pair.rok.keys.sign(_signed_bytes(header, fields["epk"], fields["nonce"], fields["ciphertext"]))
    return header | fields | {"signature": b64(signature)}


def sealed_plaintext(pair: Pair, plaintext: bytes, kind: str = "transfer") -> dict[str, Any]:
    """An envelope ROK really signed and encrypted to JPN, around any bytes at all."""
    header = _header(pair, kind)
    ephemeral = X25519PrivateKey.generate()
    epk, recipient = _raw(ephemeral.public_key()), pair.jpn.keys.public_encryption
    key = _aead_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient)), epk, recipient)
    nonce = os.urandom(12)
    return _signed(pair, header, epk, nonce, AESGCM(key).encrypt(nonce, plaintext, _canonical(header)))


def sealed_with_key(pair: Pair, epk: bytes) -> dict[str, Any]:
    """An envelope ROK really signed, whose ephemeral key is one of small order."""
    return _signed(pair, _header(pair, "transfer"), epk, os.urandom(12), os.urandom(64))


def _transfer_text(**report: Any) -> bytes:
    payload = transfer()
    payload["report"] |= report
    return json.dumps(payload).encode()


def _deep(depth: int) -> bytes:
    payload = transfer()
    payload["x"] = json.loads("[" * depth + "]" * depth)
    return json.dumps(payload).encode()


LIES: dict[str, Callable[[Pair], dict[str, Any]]] = {
    "not-json": lambda pair: sealed_plaintext(pair, b"launch at 05:59, not JSON"),
    "not-utf8": lambda pair: sealed_plaintext(pair, b'{"report": "\xff\xfe"}'),
    "not-an-object": lambda pair: sealed_plaintext(pair, b"[1, 2, 3]"),
    "nested-256": lambda pair: sealed_plaintext(pair, _deep(256)),
    "nested-100000": lambda pair: sealed_plaintext(pair, b"[" * 100_000 + b"]" * 100_000),
    "huge-integer": lambda pair: sealed_plaintext(pair, b'{"report": ' + b"9" * 5000 + b"}"),
    "large-integer": lambda pair: sealed_plaintext(pair, b'{"route": ["ROK"], "n": ' + b"9" * 400 + b"}"),
    "infinity": lambda pair: sealed_plaintext(pair, b'{"route": ["ROK"], "n": 1e999}'),
    "lone-surrogate": lambda pair: sealed_plaintext(pair, _transfer_text(title="x").replace(b'"x"', b'"\\ud800"')),
    "nul-in-body": lambda pair: sealed_plaintext(pair, _transfer_text(body="launch\u0000at 05:59")),
    "nul-in-a-category": lambda pair: sealed_plaintext(pair, _transfer_text(categories=["dprk-missile\u0000"])),
    "created-before-the-calendar": lambda pair: sealed_plaintext(
        pair, _transfer_text(created="0001-01-01T00:00:00+14:00")
    ),
    "created-after-the-calendar": lambda pair: sealed_plaintext(
        pair, _transfer_text(created="9999-12-31T23:59:59-14:00")
    ),
    "act-at-the-edge": lambda pair: sealed_plaintext(
        pair,
        json.dumps(
            {"act": {"at": "9999-12-31T23:59:59-14:00", "type": "notify_termination", "agreement": "x", "by": "ROK"}}
        ).encode(),
        kind="act",
    ),
    "all-zero-key": lambda pair: sealed_with_key(pair, SMALL_ORDER[0]),
    "key-of-order-1": lambda pair: sealed_with_key(pair, SMALL_ORDER[1]),
    "key-of-order-8": lambda pair: sealed_with_key(pair, SMALL_ORDER[2]),
}


class TestALyingPartnersBatch:
    """Every bad envelope is refused alone, signed; its neighbours in the batch are stored."""

    @pytest.mark.parametrize("lie", sorted(LIES))
    def test_the_bad_envelope_gets_a_signed_refusal_and_its_neighbours_are_accepted(self, pair: Pair, lie: str) -> None:
        bad = LIES[lie](pair)
        batch = [pair.envelope(transfer()), bad, pair.envelope(transfer())]
        answers = receive_batch(pair.jpn, batch)
        assert all(isinstance(answer, dict) for answer in answers), answers
        opened = [pair.open_answer(answer) for answer in answers]  # type: ignore[arg-type]
        assert [answer["kind"] for answer in opened] == ["receipt", "refusal", "receipt"]
        assert opened[1]["envelope"] == bad["id"]
        assert opened[1]["reasons"][0]["code"]
        assert pair.stored() == 2
        with pair.jpn.uow.engine.connect() as connection:
            outcome = connection.execute(select(envelopes.c.outcome).where(envelopes.c.id == bad["id"])).scalar_one()
        assert outcome == "refused"
        assert audit.verify(pair.jpn).intact

    @pytest.mark.parametrize("lie", ["not-json", "nul-in-body", "key-of-order-8"])
    def test_a_replay_of_the_bad_envelope_gets_the_same_refusal(self, pair: Pair, lie: str) -> None:
        bad = LIES[lie](pair)
        first = receive_batch(pair.jpn, [bad])
        assert receive_batch(pair.jpn, [bad]) == first

    def test_over_http_the_batch_is_answered_in_order_without_a_server_error(self, pair: Pair) -> None:
        batch = [pair.envelope(transfer())] + [LIES[lie](pair) for lie in sorted(LIES)] + [pair.envelope(transfer())]
        with LoopbackServer(pair.jpn) as base_url:
            response = httpx.post(f"{base_url}/federation/v1/envelopes/batch", json={"envelopes": batch}, timeout=60)
        assert response.status_code == 200, response.text
        kinds = [pair.open_answer(answer["envelope"])["kind"] for answer in response.json()["answers"]]
        assert kinds == ["receipt"] + ["refusal"] * len(LIES) + ["receipt"]
        assert pair.stored() == 2
