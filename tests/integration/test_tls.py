"""HTTPS between partners on loopback: a partner's certificate is verified by a CA file, a pin or the system store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from pactnet.crypto.identity import verify_identity
from pactnet.crypto.tls import PartnerTls, check_server_files, is_loopback
from pactnet.errors import PactnetError
from pactnet.federation.dispatcher import Dispatcher
from pactnet.federation.partners import load_partners, save_partners
from pactnet.node import Node, identity_document, init_node, open_node
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.tables import outbox, reports
from tests.certificates import ServerFiles, make_server_files
from tests.integration.conftest import Clock, LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

JULY = datetime(2019, 7, 25, 6, 0, tzinfo=UTC)
LAUNCH = Publication(
    title="DPRK SRBM launch, Wonsan", level="군사II급비밀", categories=["dprk-missile"], recipients=["JPN"]
)


@dataclass
class Pair:
    """ROK's node in this process and JPN's served over HTTPS on loopback, each trusting the other."""

    rok: Node
    jpn: Node
    rok_folder: Path
    jpn_url: str
    jpn_files: ServerFiles

    def trust_jpn(self, tls: PartnerTls) -> None:
        """ROK verifies JPN's certificate as `tls` says."""
        registry = load_partners(self.rok_folder, "ROK", ["ROK", "JPN", "USA"])
        save_partners(self.rok_folder, registry.with_tls("JPN", tls))

    def send_launch(self) -> tuple[int, str | None]:
        """ROK publishes a launch to JPN and dispatches once: JPN's copies of it, and the outbox's last error."""
        user, _ = add_user(self.rok, f"analyst{datetime.now(UTC).timestamp()}", "군사II급비밀", [])
        published = publish(self.rok, user, LAUNCH)
        dispatcher = Dispatcher(self.rok)
        try:
            dispatcher.run_once()
        finally:
            dispatcher.client.close()
        with self.jpn.uow.reader.connect() as connection:
            copies = connection.execute(select(reports.c.id).where(reports.c.origin_id == published["id"])).all()
        with self.rok.uow.reader.connect() as connection:
            error = connection.execute(
                select(outbox.c.last_error).where(outbox.c.report_id == published["id"])
            ).scalar()
        return len(copies), error


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    clock = Clock(JULY)
    files = make_server_files(tmp_path / "tls", "jpn")
    folders = {party: tmp_path / party.lower() for party in ("ROK", "JPN")}
    for party, folder in folders.items():
        init_node(folder, "gsomia-2019", party, None)
    rok, jpn = open_node(folders["ROK"], clock), open_node(folders["JPN"], clock)
    try:
        with LoopbackServer(jpn, files) as jpn_url:
            for party, url in (("ROK", "http://127.0.0.1:9"), ("JPN", jpn_url)):
                other = "JPN" if party == "ROK" else "ROK"
                document = identity_document(folders[party], url, JULY - timedelta(days=1))
                registry = load_partners(folders[other], other, ["ROK", "JPN", "USA"])
                save_partners(folders[other], registry.trust(verify_identity(document)))
            yield Pair(rok, jpn, folders["ROK"], jpn_url, files)
    finally:
        rok.close()


class TestPartnersOverHttps:
    """A report reaches a partner served over HTTPS only when its certificate verifies."""

    def test_the_url_is_https(self, pair: Pair) -> None:
        assert pair.jpn_url.startswith("https://127.0.0.1:")

    def test_a_partner_verified_by_its_ca_file_receives_the_launch(self, pair: Pair) -> None:
        pair.trust_jpn(PartnerTls(ca_file=pair.jpn_files.ca))
        assert pair.send_launch() == (1, None)

    def test_a_pinned_certificate_is_trusted_alone(self, pair: Pair) -> None:
        pair.trust_jpn(PartnerTls(pinned_certificate=pair.jpn_files.certificate.read_text(encoding="ascii")))
        assert pair.send_launch() == (1, None)

    def test_a_certificate_the_system_store_does_not_trust_is_refused(self, pair: Pair) -> None:
        copies, error = pair.send_launch()
        assert copies == 0
        assert error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in error

    def test_a_certificate_from_another_ca_is_refused(self, pair: Pair, tmp_path: Path) -> None:
        other = make_server_files(tmp_path / "other", "mallory")
        pair.trust_jpn(PartnerTls(ca_file=other.ca))
        copies, error = pair.send_launch()
        assert copies == 0
        assert error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in error

    def test_a_pin_of_another_certificate_is_refused(self, pair: Pair, tmp_path: Path) -> None:
        other = make_server_files(tmp_path / "other", "mallory")
        pair.trust_jpn(PartnerTls(pinned_certificate=other.certificate.read_text(encoding="ascii")))
        copies, error = pair.send_launch()
        assert copies == 0
        assert error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in error


class TestExpiredCertificates:
    """An expired certificate is refused even when its CA is trusted."""

    def test_an_expired_certificate_is_refused(self, tmp_path: Path, node: Node) -> None:
        files = make_server_files(tmp_path / "tls", "old", expired=True)
        verified = PartnerTls(ca_file=files.ca).context()
        with (
            LoopbackServer(node, files) as url,
            httpx.Client(verify=verified) as http,
            pytest.raises(httpx.ConnectError, match="certificate has expired"),
        ):
            http.get(f"{url}/api/v1/health")

    def test_a_current_certificate_from_the_same_kind_of_ca_is_accepted(self, tmp_path: Path, node: Node) -> None:
        files = make_server_files(tmp_path / "tls", "new")
        with LoopbackServer(node, files) as url, httpx.Client(verify=PartnerTls(ca_file=files.ca).context()) as http:
            assert http.get(f"{url}/api/v1/health").json()["status"] == "ok"


class TestServerFiles:
    """The certificate and key are checked before the node listens."""

    def test_a_key_that_is_not_the_certificates_is_refused(self, tmp_path: Path) -> None:
        one, two = make_server_files(tmp_path / "a", "a"), make_server_files(tmp_path / "b", "b")
        with pytest.raises(PactnetError, match="cannot be used together"):
            check_server_files(one.certificate, two.key)

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(PactnetError, match="no such file"):
            check_server_files(tmp_path / "none.crt", tmp_path / "none.key")

    @pytest.mark.parametrize(
        ("host", "loopback"),
        [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("localhost", True), ("0.0.0.0", False)],  # noqa: S104 - a host name under test, not a bind
    )
    def test_loopback_addresses_are_told_apart(self, host: str, *, loopback: bool) -> None:
        assert is_loopback(host) is loopback
