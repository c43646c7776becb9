"""`pactnet node identity`, `trust` and `rotate-key` between two real node folders, as operators run them."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from typing import TYPE_CHECKING, Any

import pytest

from pactnet.crypto.keys import NodeKeys, fingerprint
from tests.cli.runner import Run, pactnet
from tests.e2e.conftest import copy_node

if TYPE_CHECKING:
    from pathlib import Path

JPN_URL = "http://127.0.0.1:8471"


def _clean_failure(run: Run) -> None:
    """Exit 2 with an `error:` line, and no stack trace for the user to read."""
    assert run.code == 2, run.output
    assert "error:" in run.stderr
    assert "Traceback" not in run.output
    assert "internal error" not in run.output


def _partners(folder: Path) -> dict[str, Any]:
    partners: dict[str, Any] = tomllib.loads((folder / "partners.toml").read_text(encoding="utf-8"))["partners"]
    return partners


def _answering(answer: str, *args: str) -> Run:
    """The command with `answer` typed on its standard input."""
    done = subprocess.run(
        [sys.executable, "-m", "pactnet", *args], input=answer, capture_output=True, text=True, timeout=60, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def jpn_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPN node made once by `pactnet node init`."""
    folder = tmp_path_factory.mktemp("jpn-template") / "jpn"
    made = pactnet("node", "init", str(folder), "--world", "gsomia-2019", "--party", "JPN")
    assert made.code == 0, made.output
    return folder


@pytest.fixture
def jpn(jpn_template: Path, tmp_path: Path) -> Path:
    return copy_node(jpn_template, tmp_path / "jpn")


@pytest.fixture
def jpn_identity(jpn: Path, tmp_path: Path) -> Path:
    """JPN's identity document, as `pactnet node identity` printed it, in a file."""
    run = pactnet("node", "identity", str(jpn), "--url", JPN_URL)
    assert run.code == 0, run.output
    path = tmp_path / "jpn-identity.json"
    path.write_text(run.stdout, encoding="utf-8")
    return path


class TestIdentity:
    """`pactnet node identity` prints the node's public identity, and nothing private."""

    def test_the_document_names_the_party_url_and_fingerprint_of_the_key(self, jpn: Path, jpn_identity: Path) -> None:
        document = json.loads(jpn_identity.read_text(encoding="utf-8"))
        assert (document["party"], document["url"]) == ("JPN", JPN_URL)
        assert document["fingerprint"] == fingerprint(NodeKeys.load(jpn).public_signing)
        assert "PRIVATE" not in jpn_identity.read_text(encoding="utf-8")

    def test_the_url_defaults_to_the_configured_host_and_port(self, jpn: Path) -> None:
        run = pactnet("node", "identity", str(jpn))
        assert run.code == 0, run.output
        assert json.loads(run.stdout)["url"] == "http://127.0.0.1:8470"

    def test_a_url_that_is_not_http_exits_2(self, jpn: Path) -> None:
        _clean_failure(pactnet("node", "identity", str(jpn), "--url", "ftp://jpn.example"))

    def test_a_folder_that_is_not_a_node_exits_2(self, tmp_path: Path) -> None:
        _clean_failure(pactnet("node", "identity", str(tmp_path)))


class TestTrust:
    """`pactnet node trust` shows the fingerprint, asks, and records the partner."""

    def test_trust_with_yes_records_the_partners_fingerprint(
        self, node_folder: Path, jpn: Path, jpn_identity: Path
    ) -> None:
        run = pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes")
        assert run.code == 0, run.output
        expected = fingerprint(NodeKeys.load(jpn).public_signing)
        assert "JPN" in run.stdout
        assert JPN_URL in run.stdout
        assert expected in run.stdout
        assert _partners(node_folder)["JPN"]["fingerprint"] == expected
        assert _partners(node_folder)["JPN"]["url"] == JPN_URL

    def test_answering_yes_trusts_the_partner(self, node_folder: Path, jpn_identity: Path) -> None:
        run = _answering("y\n", "node", "trust", str(node_folder), str(jpn_identity))
        assert run.code == 0, run.output
        assert "JPN" in _partners(node_folder)

    def test_answering_no_changes_nothing(self, node_folder: Path, jpn_identity: Path) -> None:
        run = _answering("n\n", "node", "trust", str(node_folder), str(jpn_identity))
        assert run.code == 1, run.output
        assert "fingerprint" in run.stdout
        assert not (node_folder / "partners.toml").exists()

    @pytest.mark.parametrize("junk", ["", "not json", "[]", '{"format": "pactnet.identity/1"}', "\udcff"])
    def test_trust_of_a_junk_file_exits_2(self, node_folder: Path, tmp_path: Path, junk: str) -> None:
        path = tmp_path / "junk.json"
        path.write_text(junk, encoding="utf-8", errors="surrogateescape")
        _clean_failure(pactnet("node", "trust", str(node_folder), str(path), "--yes"))
        assert not (node_folder / "partners.toml").exists()

    def test_trust_of_a_missing_file_exits_2(self, node_folder: Path, tmp_path: Path) -> None:
        _clean_failure(pactnet("node", "trust", str(node_folder), str(tmp_path / "absent.json"), "--yes"))

    def test_a_tampered_identity_exits_2(self, node_folder: Path, jpn_identity: Path) -> None:
        document = json.loads(jpn_identity.read_text(encoding="utf-8"))
        jpn_identity.write_text(json.dumps(document | {"url": "http://evil.example"}), encoding="utf-8")
        run = pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes")
        _clean_failure(run)
        assert "signature" in run.stderr

    def test_the_nodes_own_identity_exits_2(self, node_folder: Path, tmp_path: Path) -> None:
        own = tmp_path / "own.json"
        own.write_text(pactnet("node", "identity", str(node_folder)).stdout, encoding="utf-8")
        run = pactnet("node", "trust", str(node_folder), str(own), "--yes")
        _clean_failure(run)
        assert "own party" in run.stderr

    def test_another_key_for_a_trusted_partner_exits_2(
        self, node_folder: Path, node_template: Path, jpn_identity: Path, tmp_path: Path
    ) -> None:
        assert pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes").code == 0
        # An impostor: a copy of another party's node, its config rewritten to claim JPN, its keys its own.
        impostor = copy_node(node_template, tmp_path / "impostor")
        config = impostor / "node.toml"
        config.write_text(config.read_text(encoding="utf-8").replace('"ROK"', '"JPN"'), encoding="utf-8")
        other = tmp_path / "impostor.json"
        other.write_text(pactnet("node", "identity", str(impostor), "--url", JPN_URL).stdout, encoding="utf-8")
        run = pactnet("node", "trust", str(node_folder), str(other), "--yes")
        _clean_failure(run)
        assert "rotation statement" in run.stderr
        assert _partners(node_folder)["JPN"]["fingerprint"] == json.loads(jpn_identity.read_text())["fingerprint"]


class TestRotation:
    """`pactnet node rotate-key` makes a statement the partner accepts, once, with the trusted key."""

    def test_a_rotation_is_accepted_and_the_old_key_retired(
        self, node_folder: Path, jpn: Path, jpn_identity: Path, tmp_path: Path
    ) -> None:
        old = fingerprint(NodeKeys.load(jpn).public_signing)
        assert pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes").code == 0
        rotated = pactnet("node", "rotate-key", str(jpn))
        assert rotated.code == 0, rotated.output
        statement = tmp_path / "rotation.json"
        statement.write_text(rotated.stdout, encoding="utf-8")
        new = fingerprint(NodeKeys.load(jpn).public_signing)
        assert json.loads(rotated.stdout)["fingerprint"] == new != old

        run = pactnet("node", "trust", str(node_folder), str(statement), "--yes")
        assert run.code == 0, run.output
        assert old in run.stdout
        assert new in run.stdout
        partner = _partners(node_folder)["JPN"]
        assert partner["fingerprint"] == new
        assert [retired["fingerprint"] for retired in partner["retired_keys"]] == [old]
        assert pactnet("audit", "verify", str(jpn)).code == 0

    def test_the_same_rotation_twice_exits_2(
        self, node_folder: Path, jpn: Path, jpn_identity: Path, tmp_path: Path
    ) -> None:
        assert pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes").code == 0
        statement = tmp_path / "rotation.json"
        statement.write_text(pactnet("node", "rotate-key", str(jpn)).stdout, encoding="utf-8")
        assert pactnet("node", "trust", str(node_folder), str(statement), "--yes").code == 0
        run = pactnet("node", "trust", str(node_folder), str(statement), "--yes")
        _clean_failure(run)
        assert "already accepted" in run.stderr

    def test_the_old_identity_is_refused_after_the_rotation(
        self, node_folder: Path, jpn: Path, jpn_identity: Path, tmp_path: Path
    ) -> None:
        assert pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes").code == 0
        statement = tmp_path / "rotation.json"
        statement.write_text(pactnet("node", "rotate-key", str(jpn)).stdout, encoding="utf-8")
        assert pactnet("node", "trust", str(node_folder), str(statement), "--yes").code == 0
        run = pactnet("node", "trust", str(node_folder), str(jpn_identity), "--yes")
        _clean_failure(run)
        assert "retired key" in run.stderr

    def test_a_rotation_of_an_untrusted_partner_exits_2(self, node_folder: Path, jpn: Path, tmp_path: Path) -> None:
        statement = tmp_path / "rotation.json"
        statement.write_text(pactnet("node", "rotate-key", str(jpn)).stdout, encoding="utf-8")
        run = pactnet("node", "trust", str(node_folder), str(statement), "--yes")
        _clean_failure(run)
        assert "not a trusted partner yet" in run.stderr

    def test_rotate_key_of_a_folder_that_is_not_a_node_exits_2(self, tmp_path: Path) -> None:
        _clean_failure(pactnet("node", "rotate-key", str(tmp_path)))
