"""The partner registry in a node's folder: what is trusted survives a round trip, and only what may be trusted is."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pactnet.crypto.identity import build_identity, build_rotation, key_valid_at, verify_identity
from pactnet.crypto.keys import NodeKeys, b64
from pactnet.federation.partners import PARTNERS_FILE, PartnerError, PartnerRegistry, load_partners, save_partners

if TYPE_CHECKING:
    from pathlib import Path

PARTIES = ("JPN", "ROK", "USA")
ISSUED = datetime(2019, 7, 1, tzinfo=UTC)
ROTATED = datetime(2019, 8, 1, tzinfo=UTC)


def _identity(keys: NodeKeys, party: str = "JPN", url: str = "https://jpn.example:8470", at: datetime = ISSUED):
    return verify_identity(build_identity(keys, party, url, at))


def _empty() -> PartnerRegistry:
    return PartnerRegistry("ROK", frozenset(PARTIES))


def _load(folder: Path) -> PartnerRegistry:
    return load_partners(folder, "ROK", PARTIES)


@pytest.fixture(scope="module")
def jpn() -> NodeKeys:
    return NodeKeys.generate()


class TestRoundTrip:
    """What the registry writes, it reads back exactly."""

    def test_no_file_is_an_empty_registry(self, tmp_path: Path) -> None:
        assert _load(tmp_path).partners == {}

    def test_a_trusted_partner_is_read_back_with_its_keys(self, tmp_path: Path, jpn: NodeKeys) -> None:
        registry = _empty().trust(_identity(jpn)).trust(_identity(NodeKeys.generate(), "USA", "http://[::1]:8472"))
        save_partners(tmp_path, registry)
        assert _load(tmp_path) == registry
        partner = _load(tmp_path).get("JPN")
        assert partner is not None
        assert (partner.signing_key, partner.encryption_key) == (jpn.public_signing, jpn.public_encryption)

    def test_retired_keys_are_read_back_oldest_first(self, tmp_path: Path, jpn: NodeKeys) -> None:
        second, third = NodeKeys.generate(), NodeKeys.generate()
        registry = _empty().trust(_identity(jpn))
        _, registry = registry.accept_rotation(build_rotation(jpn, second, "JPN", ROTATED))
        _, registry = registry.accept_rotation(build_rotation(second, third, "JPN", ROTATED + timedelta(days=1)))
        save_partners(tmp_path, registry)
        partner = _load(tmp_path).get("JPN")
        assert partner is not None
        assert [old.signing_key for old in partner.retired] == [jpn.public_signing, second.public_signing]
        assert partner.signing_key == third.public_signing
        assert key_valid_at(partner.history, jpn.public_signing, ROTATED - timedelta(seconds=1))
        assert not key_valid_at(partner.history, jpn.public_signing, ROTATED)

    def test_a_url_with_quotes_and_unicode_survives(self, tmp_path: Path, jpn: NodeKeys) -> None:
        registry = _empty().trust(_identity(jpn, url='https://日本.example/a"b\\c'))
        save_partners(tmp_path, registry)
        assert _load(tmp_path) == registry

    def test_an_identity_with_the_trusted_key_updates_the_url(self, jpn: NodeKeys) -> None:
        registry = _empty().trust(_identity(jpn))
        later = _identity(jpn, url="https://jpn-2.example", at=ISSUED + timedelta(days=1))
        updated = registry.trust(later)
        assert updated.partners["JPN"].url == "https://jpn-2.example"
        assert registry.partners["JPN"].url == "https://jpn.example:8470"


class TestAtomicWrite:
    """The file is replaced whole or not at all, readable only by the node's owner."""

    def test_the_file_is_the_owners_only_and_no_temporary_file_is_left(self, tmp_path: Path, jpn: NodeKeys) -> None:
        save_partners(tmp_path, _empty().trust(_identity(jpn)))
        assert stat.S_IMODE((tmp_path / PARTNERS_FILE).stat().st_mode) == 0o600
        assert [path.name for path in tmp_path.iterdir()] == [PARTNERS_FILE]

    def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_file(
        self, tmp_path: Path, jpn: NodeKeys, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = _empty().trust(_identity(jpn))
        save_partners(tmp_path, first)
        before = (tmp_path / PARTNERS_FILE).read_bytes()

        def full_disk(_: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", full_disk)
        with pytest.raises(OSError, match="No space"):
            save_partners(tmp_path, first.trust(_identity(NodeKeys.generate(), "USA")))
        assert (tmp_path / PARTNERS_FILE).read_bytes() == before
        assert [path.name for path in tmp_path.iterdir()] == [PARTNERS_FILE]

    def test_the_new_file_replaces_the_old_one_in_a_single_rename(self, tmp_path: Path, jpn: NodeKeys) -> None:
        save_partners(tmp_path, _empty().trust(_identity(jpn)))
        inode = (tmp_path / PARTNERS_FILE).stat().st_ino
        save_partners(tmp_path, _load(tmp_path).trust(_identity(NodeKeys.generate(), "USA")))
        assert (tmp_path / PARTNERS_FILE).stat().st_ino != inode
        assert set(_load(tmp_path).partners) == {"JPN", "USA"}


class TestRefusals:
    """A partner the node may not have, or a key it may not take, is refused with the reason."""

    def test_the_nodes_own_party_is_refused(self) -> None:
        with pytest.raises(PartnerError, match="own party"):
            _empty().trust(_identity(NodeKeys.generate(), "ROK"))

    def test_a_party_outside_the_world_is_refused(self) -> None:
        with pytest.raises(PartnerError, match="not a party of this node's world"):
            _empty().trust(_identity(NodeKeys.generate(), "PRK"))

    def test_a_different_key_for_a_known_partner_is_refused_without_a_rotation(self, jpn: NodeKeys) -> None:
        registry = _empty().trust(_identity(jpn))
        with pytest.raises(PartnerError, match="only through a rotation statement"):
            registry.trust(_identity(NodeKeys.generate(), at=ISSUED + timedelta(days=1)))

    def test_an_older_identity_does_not_replace_a_newer_one(self, jpn: NodeKeys) -> None:
        registry = _empty().trust(_identity(jpn, at=ISSUED + timedelta(days=1)))
        with pytest.raises(PartnerError, match="before the one trusted"):
            registry.trust(_identity(jpn, url="https://old.example"))

    def test_a_rotation_for_an_unknown_partner_is_refused(self, jpn: NodeKeys) -> None:
        with pytest.raises(PartnerError, match="not a trusted partner yet"):
            _empty().accept_rotation(build_rotation(jpn, NodeKeys.generate(), "JPN", ROTATED))

    def test_a_rotation_not_signed_by_the_trusted_key_is_refused(self, jpn: NodeKeys) -> None:
        registry = _empty().trust(_identity(jpn))
        with pytest.raises(PartnerError, match="only the currently trusted key"):
            registry.accept_rotation(build_rotation(NodeKeys.generate(), NodeKeys.generate(), "JPN", ROTATED))

    def test_a_rotation_accepted_twice_says_so(self, jpn: NodeKeys) -> None:
        document = build_rotation(jpn, NodeKeys.generate(), "JPN", ROTATED)
        _, registry = _empty().trust(_identity(jpn)).accept_rotation(document)
        with pytest.raises(PartnerError, match="already accepted"):
            registry.accept_rotation(document)


class TestInvalidFiles:
    """A hand-edited registry that is wrong is refused, every problem named with its path."""

    def _written(self, folder: Path, text: str) -> Path:
        (folder / PARTNERS_FILE).write_text(text, encoding="utf-8")
        return folder

    def test_text_that_is_not_toml_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(PartnerError, match="cannot be read as TOML"):
            _load(self._written(tmp_path, "[partners\n"))

    def test_every_problem_is_named_at_once(self, tmp_path: Path) -> None:
        text = (
            '[partners."ROK"]\nurl = "ftp://x"\nsigning_key = "AAAA"\nencryption_key = "!"\n'
            'fingerprint = "0000"\nissued_at = "2019-07-01"\ncolour = "blue"\n'
        )
        with pytest.raises(PartnerError) as caught:
            _load(self._written(tmp_path, text))
        message = str(caught.value)
        for expected in (
            "partners.ROK: ROK is this node's own party",
            "partners.ROK.url: expected an http",
            "partners.ROK.signing_key: a raw public key is 32 bytes, found 3",
            "partners.ROK.encryption_key: not base64url",
            "partners.ROK.issued_at: expected",
            "partners.ROK.colour: unknown key",
        ):
            assert expected in message

    def test_a_fingerprint_that_does_not_match_the_key_is_refused(self, tmp_path: Path, jpn: NodeKeys) -> None:
        save_partners(tmp_path, _empty().trust(_identity(jpn)))
        path = tmp_path / PARTNERS_FILE
        path.write_text(path.read_text(encoding="utf-8").replace(b64(jpn.public_signing), b64(os.urandom(32))))
        with pytest.raises(PartnerError, match=r"partners\.JPN\.fingerprint: .* is not the signing key's"):
            _load(tmp_path)

    def test_retired_keys_out_of_order_are_refused(self, tmp_path: Path, jpn: NodeKeys) -> None:
        second, third = NodeKeys.generate(), NodeKeys.generate()
        _, registry = _empty().trust(_identity(jpn)).accept_rotation(build_rotation(jpn, second, "JPN", ROTATED))
        _, registry = registry.accept_rotation(build_rotation(second, third, "JPN", ROTATED + timedelta(days=1)))
        save_partners(tmp_path, registry)
        path = tmp_path / PARTNERS_FILE
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(ROTATED.isoformat(), (ROTATED + timedelta(days=2)).isoformat()))
        with pytest.raises(PartnerError, match=r"retired_keys\[1\]\.retired_at: retired keys are listed oldest first"):
            _load(tmp_path)

    def test_an_unknown_top_level_table_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(PartnerError, match="peers: unknown table"):
            _load(self._written(tmp_path, "[peers]\n"))
