"""HTTPS as an operator sets it up: `node serve --tls-cert/--tls-key`, plain HTTP refused off loopback, and
`node trust` of several partners at once with how to verify their certificates."""

from __future__ import annotations

import json
import tomllib
from typing import TYPE_CHECKING

import httpx
import pytest

from pactnet.crypto.tls import PartnerTls
from tests.certificates import make_server_files
from tests.cli.runner import Run, pactnet
from tests.e2e.conftest import ServedNode, copy_node

if TYPE_CHECKING:
    from pathlib import Path


def _clean_failure(run: Run) -> None:
    assert run.code == 2, run.output
    assert "error:" in run.stderr
    assert "Traceback" not in run.output


class TestServingHttps:
    """`node serve` with a certificate and key answers over HTTPS; without them, plain HTTP stays on loopback."""

    def test_the_node_answers_over_https_to_a_client_that_trusts_its_ca(
        self, node_folder: Path, tmp_path: Path
    ) -> None:
        files = make_server_files(tmp_path / "tls", "rok")
        options = ("--tls-cert", str(files.certificate), "--tls-key", str(files.key))
        verified = PartnerTls(ca_file=files.ca).context()
        with ServedNode(node_folder, tmp_path / "serve.log", *options, verify=verified) as served:
            assert served.url.startswith("https://")
            assert httpx.get(f"{served.url}/api/v1/health", verify=verified).json()["party"] == "ROK"
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                httpx.get(f"{served.url}/api/v1/health")  # the system store does not know this CA
            assert "serving on https://" in served.output

    def test_plain_http_on_an_address_other_than_loopback_is_refused(self, node_folder: Path) -> None:
        run = pactnet("node", "serve", str(node_folder), "--host", "0.0.0.0", "--port", "0")  # noqa: S104 - refused before binding
        _clean_failure(run)
        assert "clear text" in run.stderr
        assert "--tls-cert" in run.stderr
        assert "--allow-plain-http" in run.stderr

    def test_a_certificate_without_its_key_is_refused(self, node_folder: Path, tmp_path: Path) -> None:
        files = make_server_files(tmp_path / "tls", "rok")
        run = pactnet("node", "serve", str(node_folder), "--tls-cert", str(files.certificate))
        _clean_failure(run)
        assert "--tls-key" in run.stderr

    def test_a_key_that_does_not_match_the_certificate_is_refused(self, node_folder: Path, tmp_path: Path) -> None:
        one, two = make_server_files(tmp_path / "a", "a"), make_server_files(tmp_path / "b", "b")
        run = pactnet("node", "serve", str(node_folder), "--tls-cert", str(one.certificate), "--tls-key", str(two.key))
        _clean_failure(run)
        assert "cannot be used together" in run.stderr


@pytest.fixture
def identities(tmp_path: Path) -> list[Path]:
    """JPN's and USA's identity documents, from nodes made by the command line."""
    found = []
    for party in ("JPN", "USA"):
        folder = tmp_path / party.lower()
        made = pactnet("node", "init", str(folder), "--world", "gsomia-2019", "--party", party)
        assert made.code == 0, made.output
        printed = pactnet("node", "identity", str(folder), "--url", f"https://{party.lower()}.example:8470")
        assert printed.code == 0, printed.output
        path = tmp_path / f"{party}.json"
        path.write_text(printed.stdout, encoding="utf-8")
        found.append(path)
    return found


class TestTrustingSeveral:
    """`node trust` takes several identity documents at once, and how to verify their certificates."""

    def test_two_partners_are_trusted_in_one_command_with_a_ca_file(
        self, node_template: Path, tmp_path: Path, identities: list[Path]
    ) -> None:
        rok = copy_node(node_template, tmp_path / "rok")
        files = make_server_files(tmp_path / "tls", "ca")
        run = pactnet("node", "trust", str(rok), *map(str, identities), "--yes", "--tls-ca", str(files.ca))
        assert run.code == 0, run.output
        partners = tomllib.loads((rok / "partners.toml").read_text(encoding="utf-8"))["partners"]
        assert set(partners) == {"JPN", "USA"}
        assert all(partner["tls_ca_file"] == str(files.ca.resolve()) for partner in partners.values())
        assert "JPN, USA trusted" in run.stdout

    def test_a_pinned_certificate_is_written_for_the_partner(
        self, node_template: Path, tmp_path: Path, identities: list[Path]
    ) -> None:
        rok = copy_node(node_template, tmp_path / "rok")
        files = make_server_files(tmp_path / "tls", "jpn")
        run = pactnet("node", "trust", str(rok), str(identities[0]), "--yes", "--tls-pin", str(files.certificate))
        assert run.code == 0, run.output
        partners = tomllib.loads((rok / "partners.toml").read_text(encoding="utf-8"))["partners"]
        assert partners["JPN"]["tls_certificate"] == files.certificate.read_text(encoding="ascii")

    def test_one_bad_file_among_several_writes_nothing(
        self, node_template: Path, tmp_path: Path, identities: list[Path]
    ) -> None:
        rok = copy_node(node_template, tmp_path / "rok")
        junk = tmp_path / "junk.json"
        junk.write_text(json.dumps({"format": "nothing"}), encoding="utf-8")
        run = pactnet("node", "trust", str(rok), str(identities[0]), str(junk), "--yes")
        _clean_failure(run)
        assert "junk.json" in run.stderr
        assert not (rok / "partners.toml").exists()

    def test_a_pin_that_is_not_a_certificate_exits_2(
        self, node_template: Path, tmp_path: Path, identities: list[Path]
    ) -> None:
        rok = copy_node(node_template, tmp_path / "rok")
        files = make_server_files(tmp_path / "tls", "jpn")
        run = pactnet("node", "trust", str(rok), str(identities[0]), "--yes", "--tls-pin", str(files.key))
        _clean_failure(run)
        assert "not a PEM X.509 certificate" in run.stderr


class TestTrustAsJson:
    """`node trust --json` prints the partners trusted, and only that, on standard output."""

    def test_the_partners_come_as_json(self, node_template: Path, tmp_path: Path, identities: list[Path]) -> None:
        rok = copy_node(node_template, tmp_path / "rok")
        run = pactnet("node", "trust", str(rok), *map(str, identities), "--yes", "--json")
        assert run.code == 0, run.output
        shown = json.loads(run.stdout)
        assert [(one["party"], one["url"]) for one in shown] == [
            ("JPN", "https://jpn.example:8470"),
            ("USA", "https://usa.example:8470"),
        ]
        assert "fingerprint:" in run.stderr
