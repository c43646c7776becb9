"""Envelopes between nodes: only the recipient reads them, only the sender can have made them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pactnet.crypto.envelope import MAX_SKEW, EnvelopeError, open_envelope, seal
from pactnet.crypto.keys import NodeKeys, b64, unb64

NOW = datetime(2019, 7, 25, 6, 0, tzinfo=UTC)
PAYLOAD = {"report": "rok-launch-2019-07-25", "level": "군사II급비밀", "body": "two projectiles"}


@pytest.fixture(scope="module")
def rok() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="module")
def jpn() -> NodeKeys:
    return NodeKeys.generate()


def _sealed(rok: NodeKeys, jpn: NodeKeys, **changes: Any) -> dict[str, Any]:
    return seal(rok, "ROK", "JPN", jpn.public_encryption, "transfer", PAYLOAD, NOW) | changes


def _refused(code: str, envelope: dict[str, Any], jpn: NodeKeys, signer: NodeKeys, now: datetime = NOW) -> None:
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(jpn, "JPN", envelope, signer.public_signing, now)
    assert caught.value.code == code


class TestSealing:
    """A sealed envelope opens for its recipient with its payload intact."""

    def test_the_recipient_reads_the_payload(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        opened = open_envelope(jpn, "JPN", _sealed(rok, jpn), rok.public_signing, NOW)
        assert (opened.sender, opened.recipient, opened.kind, opened.payload) == ("ROK", "JPN", "transfer", PAYLOAD)

    def test_the_payload_is_not_in_clear_text(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        envelope = _sealed(rok, jpn)
        assert "projectiles" not in str(envelope)
        assert b"projectiles" not in unb64(envelope["ciphertext"])

    def test_every_envelope_has_its_own_id_and_key(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        first, second = _sealed(rok, jpn), _sealed(rok, jpn)
        assert first["id"] != second["id"]
        assert first["epk"] != second["epk"]


class TestRefusals:
    """Each way an envelope can be wrong is refused with its own reason."""

    def test_a_forged_signature_is_refused(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        forger = NodeKeys.generate()
        envelope = seal(forger, "ROK", "JPN", jpn.public_encryption, "transfer", PAYLOAD, NOW)
        _refused("bad-signature", envelope, jpn, rok)

    def test_an_envelope_for_another_party_is_refused(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        envelope = seal(rok, "ROK", "USA", jpn.public_encryption, "transfer", PAYLOAD, NOW)
        _refused("wrong-recipient", envelope, jpn, rok)

    def test_a_changed_header_breaks_the_signature(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        _refused("bad-signature", _sealed(rok, jpn, kind="receipt"), jpn, rok)

    def test_tampered_ciphertext_is_refused(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        envelope = _sealed(rok, jpn)
        data = bytearray(unb64(envelope["ciphertext"]))
        data[0] ^= 1
        _refused("bad-signature", envelope | {"ciphertext": b64(bytes(data))}, jpn, rok)

    def test_a_ciphertext_for_another_key_does_not_decrypt_even_when_signed(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        other = NodeKeys.generate()
        envelope = seal(rok, "ROK", "JPN", other.public_encryption, "transfer", PAYLOAD, NOW)
        _refused("undecryptable", envelope, jpn, rok)

    @pytest.mark.parametrize("offset", [MAX_SKEW + timedelta(seconds=1), -(MAX_SKEW + timedelta(seconds=1))])
    def test_an_envelope_outside_the_clock_skew_is_stale(self, rok: NodeKeys, jpn: NodeKeys, offset: timedelta) -> None:
        _refused("stale", _sealed(rok, jpn), jpn, rok, now=NOW + offset)

    def test_an_envelope_at_the_edge_of_the_skew_is_accepted(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        assert open_envelope(jpn, "JPN", _sealed(rok, jpn), rok.public_signing, NOW + MAX_SKEW).payload == PAYLOAD

    @pytest.mark.parametrize("field", ["id", "signature", "ciphertext", "format"])
    def test_a_missing_field_is_malformed(self, rok: NodeKeys, jpn: NodeKeys, field: str) -> None:
        envelope = _sealed(rok, jpn)
        del envelope[field]
        _refused("malformed", envelope, jpn, rok)

    def test_junk_base64_is_malformed(self, rok: NodeKeys, jpn: NodeKeys) -> None:
        _refused("malformed", _sealed(rok, jpn, signature="!!!"), jpn, rok)
