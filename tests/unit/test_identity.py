"""Identity documents and key rotations: only the key's holder can make them, only the trusted key can move on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pactnet.audit.chain import KEY_ROTATED, Entry, chain_entry
from pactnet.audit.keyline import key_line, node_signing_keys
from pactnet.crypto.identity import (
    IDENTITY_FORMAT,
    ROTATION_FORMAT,
    IdentityError,
    KeyHistory,
    accept_rotation,
    build_identity,
    build_rotation,
    document_format,
    key_valid_at,
    parse_document,
    verify_identity,
    verify_rotation,
)
from pactnet.crypto.keys import NodeKeys, b64, fingerprint

ISSUED = datetime(2019, 7, 1, tzinfo=UTC)
ROTATED = datetime(2019, 8, 1, tzinfo=UTC)
URL = "https://jpn.example:8470"


@pytest.fixture(scope="module")
def jpn() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="module")
def successor() -> NodeKeys:
    return NodeKeys.generate()


def _identity(keys: NodeKeys, **changes: Any) -> dict[str, Any]:
    return build_identity(keys, "JPN", URL, ISSUED) | changes


def _refused(document: dict[str, Any], words: str) -> None:
    with pytest.raises(IdentityError, match=words):
        verify_identity(document)


class TestIdentity:
    """An identity document verifies as built, and every change to it is refused."""

    def test_a_built_identity_verifies_with_its_keys_and_fingerprint(self, jpn: NodeKeys) -> None:
        identity = verify_identity(_identity(jpn))
        assert (identity.party, identity.url, identity.issued_at) == ("JPN", URL, ISSUED)
        assert (identity.signing_key, identity.encryption_key) == (jpn.public_signing, jpn.public_encryption)
        assert identity.fingerprint == fingerprint(jpn.public_signing)

    def test_the_document_names_its_format_and_survives_json(self, jpn: NodeKeys) -> None:
        import json  # noqa: PLC0415 - only this test writes the document out

        document = parse_document(json.dumps(_identity(jpn)))
        assert document_format(document) == IDENTITY_FORMAT
        assert verify_identity(document).party == "JPN"

    def test_a_forged_signature_is_refused(self, jpn: NodeKeys) -> None:
        forger = NodeKeys.generate()
        forged = build_identity(forger, "JPN", URL, ISSUED)
        _refused(_identity(jpn, signature=forged["signature"]), "not signed by its own signing key")

    @pytest.mark.parametrize(
        ("name", "value"), [("party", "ROK"), ("url", "https://evil.example"), ("issued_at", "2020-01-01T00:00:00Z")]
    )
    def test_a_tampered_field_breaks_the_signature(self, jpn: NodeKeys, name: str, value: str) -> None:
        _refused(_identity(jpn, **{name: value}), "signature")

    def test_a_swapped_signing_key_is_refused_by_its_fingerprint(self, jpn: NodeKeys) -> None:
        other = NodeKeys.generate()
        _refused(_identity(jpn, signing_key=b64(other.public_signing)), "fingerprint")

    @pytest.mark.parametrize("name", ["signing_key", "encryption_key"])
    @pytest.mark.parametrize("size", [0, 31, 33, 64])
    def test_a_key_of_the_wrong_size_is_refused(self, jpn: NodeKeys, name: str, size: int) -> None:
        _refused(_identity(jpn, **{name: b64(b"\x01" * size)}), f"{name}: a raw public key is 32 bytes")

    def test_a_key_that_is_not_base64url_is_refused(self, jpn: NodeKeys) -> None:
        _refused(_identity(jpn, encryption_key="not base64!"), "encryption_key: not base64url")

    def test_a_missing_field_is_named(self, jpn: NodeKeys) -> None:
        document = _identity(jpn)
        del document["url"]
        _refused(document, "lacks url")

    def test_an_unsigned_extra_field_is_refused(self, jpn: NodeKeys) -> None:
        _refused(_identity(jpn, role="hub"), "unknown field role")

    def test_a_field_that_is_not_a_string_is_refused(self, jpn: NodeKeys) -> None:
        _refused(_identity(jpn, party=7), "party: expected a string")

    @pytest.mark.parametrize("url", ["ftp://jpn.example", "jpn.example", "http://", "http://a b", "http://h:99999"])
    def test_a_url_that_does_not_reach_a_node_is_refused_when_building(self, jpn: NodeKeys, url: str) -> None:
        with pytest.raises(IdentityError, match="url: expected an http"):
            build_identity(jpn, "JPN", url, ISSUED)

    def test_an_instant_without_an_offset_is_refused_when_building(self, jpn: NodeKeys) -> None:
        with pytest.raises(IdentityError, match="issued_at"):
            build_identity(jpn, "JPN", URL, datetime(2019, 7, 1))  # noqa: DTZ001 - the naive instant is the point

    def test_another_format_is_named(self, jpn: NodeKeys) -> None:
        _refused(_identity(jpn, format="pactnet.identity/9"), "format")


class TestDocuments:
    """A file that is not an identity or rotation document is refused before anything is checked."""

    @pytest.mark.parametrize("text", ["", "not json", "[1, 2]", "42"])
    def test_text_that_is_not_a_json_object_is_refused(self, text: str) -> None:
        with pytest.raises(IdentityError, match="JSON"):
            parse_document(text)

    def test_an_unknown_format_is_refused(self) -> None:
        with pytest.raises(IdentityError, match="format: expected"):
            document_format({"format": "stix"})


class TestRotation:
    """A rotation is accepted only when signed by the key currently trusted."""

    def test_a_rotation_signed_by_the_trusted_key_is_accepted(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        document = build_rotation(jpn, successor, "JPN", ROTATED)
        rotation = verify_rotation(document, jpn.public_signing)
        assert document["format"] == ROTATION_FORMAT
        assert (rotation.signing_key, rotation.encryption_key) == (
            successor.public_signing,
            successor.public_encryption,
        )
        assert (rotation.old_signing_key, rotation.rotated_at) == (jpn.public_signing, ROTATED)

    def test_a_rotation_signed_by_another_key_is_refused(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        stranger = NodeKeys.generate()
        document = build_rotation(stranger, successor, "JPN", ROTATED)
        with pytest.raises(IdentityError, match="only the currently trusted key"):
            verify_rotation(document, jpn.public_signing)

    def test_a_rotation_claiming_the_trusted_key_but_signed_by_another_is_refused(
        self, jpn: NodeKeys, successor: NodeKeys
    ) -> None:
        stranger = NodeKeys.generate()
        forged = build_rotation(stranger, successor, "JPN", ROTATED)
        document = build_rotation(jpn, successor, "JPN", ROTATED) | {"signature": forged["signature"]}
        with pytest.raises(IdentityError, match="not signed by the key it retires"):
            verify_rotation(document, jpn.public_signing)

    def test_a_tampered_new_key_is_refused(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        attacker = NodeKeys.generate()
        document = build_rotation(jpn, successor, "JPN", ROTATED) | {
            "signing_key": b64(attacker.public_signing),
            "fingerprint": fingerprint(attacker.public_signing),
        }
        with pytest.raises(IdentityError, match="signature"):
            verify_rotation(document, jpn.public_signing)

    def test_a_rotation_to_the_same_key_cannot_be_built(self, jpn: NodeKeys) -> None:
        with pytest.raises(IdentityError, match="new signing key"):
            build_rotation(jpn, jpn, "JPN", ROTATED)

    def test_an_accepted_rotation_retires_the_old_key_at_its_instant(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        _, history = accept_rotation(KeyHistory(jpn.public_signing), build_rotation(jpn, successor, "JPN", ROTATED))
        assert history.signing_key == successor.public_signing
        assert [(old.signing_key, old.retired_at) for old in history.retired] == [(jpn.public_signing, ROTATED)]

    def test_the_same_rotation_cannot_be_accepted_twice(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        document = build_rotation(jpn, successor, "JPN", ROTATED)
        _, history = accept_rotation(KeyHistory(jpn.public_signing), document)
        with pytest.raises(IdentityError, match="trusted key"):
            accept_rotation(history, document)

    def test_a_second_rotation_must_come_after_the_first(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        _, history = accept_rotation(KeyHistory(jpn.public_signing), build_rotation(jpn, successor, "JPN", ROTATED))
        earlier = build_rotation(successor, NodeKeys.generate(), "JPN", ROTATED - timedelta(days=1))
        with pytest.raises(IdentityError, match="not after the previous rotation"):
            accept_rotation(history, earlier)

    def test_a_rotation_back_to_a_retired_key_is_refused(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        _, history = accept_rotation(KeyHistory(jpn.public_signing), build_rotation(jpn, successor, "JPN", ROTATED))
        back = build_rotation(successor, jpn, "JPN", ROTATED + timedelta(days=1))
        with pytest.raises(IdentityError, match="was retired"):
            accept_rotation(history, back)


class TestKeyValidity:
    """Envelopes signed by a retired key are refused after its retirement and accepted before."""

    @pytest.fixture
    def history(self, jpn: NodeKeys, successor: NodeKeys) -> KeyHistory:
        return accept_rotation(KeyHistory(jpn.public_signing), build_rotation(jpn, successor, "JPN", ROTATED))[1]

    def test_the_retired_key_is_accepted_before_its_retirement(self, history: KeyHistory, jpn: NodeKeys) -> None:
        assert key_valid_at(history, jpn.public_signing, ROTATED - timedelta(microseconds=1))

    def test_the_retired_key_is_refused_at_and_after_its_retirement(self, history: KeyHistory, jpn: NodeKeys) -> None:
        assert not key_valid_at(history, jpn.public_signing, ROTATED)
        assert not key_valid_at(history, jpn.public_signing, ROTATED + timedelta(days=1))

    def test_the_current_key_is_accepted(self, history: KeyHistory, successor: NodeKeys) -> None:
        assert key_valid_at(history, successor.public_signing, ROTATED + timedelta(days=1))

    def test_a_key_never_trusted_is_refused(self, history: KeyHistory) -> None:
        assert not key_valid_at(history, NodeKeys.generate().public_signing, ROTATED - timedelta(days=1))


class TestSigningKeysOfAnAuditLog:
    """The audit log admits a retired key only through recorded rotations that lead to the current key."""

    def _rotation_entry(self, seq: int, old: NodeKeys, new: NodeKeys) -> Entry:
        statement = build_rotation(old, new, "JPN", ROTATED + timedelta(days=seq))
        return chain_entry(seq, "2019-08-01T00:00:00.000000Z", KEY_ROTATED, "cli", "JPN", {"rotation": statement}, "")

    def test_each_retired_key_signs_up_to_its_rotation(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        third = NodeKeys.generate()
        entries = [self._rotation_entry(5, jpn, successor), self._rotation_entry(9, successor, third)]
        assert node_signing_keys(third.public_signing, entries) == {
            b64(third.public_signing): None,
            b64(successor.public_signing): 9,
            b64(jpn.public_signing): 5,
        }

    def test_a_rotation_never_completed_grants_nothing(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        abandoned = self._rotation_entry(5, jpn, NodeKeys.generate())
        completed = self._rotation_entry(7, jpn, successor)
        assert node_signing_keys(successor.public_signing, [abandoned, completed]) == {
            b64(successor.public_signing): None,
            b64(jpn.public_signing): 7,
        }

    def test_a_rotation_with_a_forged_signature_grants_nothing(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        statement = build_rotation(NodeKeys.generate(), successor, "JPN", ROTATED) | {
            "old_signing_key": b64(jpn.public_signing),
            "old_fingerprint": fingerprint(jpn.public_signing),
        }
        entry = chain_entry(3, "x", KEY_ROTATED, "cli", "JPN", {"rotation": statement}, "")
        assert node_signing_keys(successor.public_signing, [entry]) == {b64(successor.public_signing): None}


class TestTheFirstKeyOfAnAuditLog:
    """The walk back through recorded rotations stops at the node's first key and admits nothing before it."""

    def _rotation_entry(self, seq: int, old: NodeKeys, new: NodeKeys) -> Entry:
        statement = build_rotation(old, new, "JPN", ROTATED + timedelta(days=seq))
        return chain_entry(seq, "2019-08-01T00:00:00.000000Z", KEY_ROTATED, "cli", "JPN", {"rotation": statement}, "")

    def test_a_rotation_from_a_key_before_the_first_is_refused(self, jpn: NodeKeys, successor: NodeKeys) -> None:
        attacker = NodeKeys.generate()
        entries = [self._rotation_entry(4, jpn, successor), self._rotation_entry(9, attacker, jpn)]
        line = key_line(successor.public_signing, entries, fingerprint(jpn.public_signing))
        assert line.signers == {b64(successor.public_signing): None, b64(jpn.public_signing): 4}
        assert line.anchored
        assert line.refused == {b64(attacker.public_signing): 9}

    def test_a_line_that_never_reaches_the_first_key_is_not_anchored(self, jpn: NodeKeys) -> None:
        attacker = NodeKeys.generate()
        line = key_line(jpn.public_signing, [self._rotation_entry(3, attacker, jpn)], fingerprint(b"\x01" * 32))
        assert not line.anchored
        assert (line.first, line.first_retired) == (attacker.public_signing, 3)

    def test_without_a_first_key_the_walk_goes_as_far_as_the_rotations_lead(self, jpn: NodeKeys) -> None:
        attacker = NodeKeys.generate()
        line = key_line(jpn.public_signing, [self._rotation_entry(3, attacker, jpn)])
        assert line.anchored
        assert line.first == attacker.public_signing
