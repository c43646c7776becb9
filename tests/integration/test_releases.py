"""A consent permits, it never sends: real nodes on loopback send an item only where someone asked (issue 19).

ROK, JPN and the USA serve their APIs on loopback (tests.integration.test_consent_compromise builds them); the
dispatchers are run by hand. The publisher's recipients, a consent request of the holder or a user's explicit
release ask for a transfer; an originator's consent only lets one through, and every transfer says who asked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from pactnet.cli.main import app as cli
from pactnet.services.users import add_user
from pactnet.store import database
from pactnet.store.audit_log import read_entries
from pactnet.store.tables import consent_requests, decisions, outbox, reports
from tests.integration.test_consent_compromise import PURPOSE, Trio, _trio

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

AFTER_THE_END = datetime.fromisoformat("2019-11-23T06:00:00+09:00")
TISA = {"arrangement": "TISA-2014"}
MISSILE = {
    "title": "Two SRBMs from Hodo peninsula",
    "level": "군사II급비밀",
    "categories": ["dprk-missile"],
    "precedence": "immediate",
    "body": "launch at 05:34 and 05:57 KST, apogee 50 km",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trio]:
    """The three nodes in July 2019, every agreement in force, on each kind of database."""
    yield from _trio(tmp_path, request.param)


@pytest.fixture
def sqlite_nodes(tmp_path: Path) -> Iterator[Trio]:
    """The three nodes on SQLite, where the database makes no difference."""
    yield from _trio(tmp_path, "sqlite")


@pytest.fixture
def nodes_now(tmp_path: Path) -> Iterator[Trio]:
    """The three nodes on SQLite with the wall clock's time, as the command line has it."""
    yield from _trio(tmp_path, "sqlite", datetime.now(UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def ended(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trio]:
    """The three nodes after the JPN-ROK GSOMIA ended (no suspension): ROK reaches JPN only through TISA's hub."""
    yield from _trio(tmp_path, request.param, AFTER_THE_END, "gsomia-2019-no-suspension")


def _everyone(trio: Trio, rounds: int = 4) -> None:
    """Run every dispatcher a few rounds, so that whatever is queued anywhere is sent (and relayed) on."""
    for _ in range(rounds):
        trio.dispatch("ROK", "JPN", "USA")


def _transfers(trio: Trio, party: str) -> list[tuple[str, str, str | None]]:
    """Every transfer queued at a party: (next hop, final recipient, who asked), in order."""
    with trio.nodes[party].uow.engine.connect() as connection:
        query = select(outbox.c.recipient, outbox.c.final, outbox.c.asked_by).where(outbox.c.kind == "transfer")
        return [tuple(row) for row in connection.execute(query.order_by(outbox.c.seq))]


def _held(trio: Trio, party: str, origin_id: str) -> list[Any]:
    with trio.nodes[party].uow.engine.connect() as connection:
        query = select(reports.c.id, reports.c.received_from).where(reports.c.origin_id == origin_id)
        return [tuple(row) for row in connection.execute(query)]


def _trail(trio: Trio, party: str, report_id: str) -> list[tuple[str, str, bool, str]]:
    trail = trio.get(party, "/api/v1/decisions", report=report_id)
    return [(one["holder"], one["to"], one["allowed"], one["asked_by"]) for one in trail]


class TestRelayConsent:
    """At the originator a relay consent re-decides only the named recipients refused for want of it."""

    def test_a_relay_consent_after_a_refusal_carries_the_item_through_the_hub_and_nowhere_else(
        self, ended: Trio
    ) -> None:
        trio = ended
        published = trio.post("ROK", "/api/v1/reports", MISSILE | {"recipients": ["JPN"]})
        [refused] = published["decisions"]
        assert (refused["to"], refused["allowed"]) == ("JPN", False)
        assert "no-relay-consent" in {reason["code"] for reason in refused["reasons"]}
        _everyone(trio)
        assert _held(trio, "USA", published["id"]) == _held(trio, "JPN", published["id"]) == []

        trio.post("ROK", f"/api/v1/reports/{published['id']}/consents", TISA)
        assert _transfers(trio, "ROK") == [("USA", "JPN", "recipients")]  # for JPN, through the hub: no more
        _everyone(trio)

        [(at_jpn, came_from)] = _held(trio, "JPN", published["id"])
        assert came_from == "USA"
        [(at_usa, _)] = _held(trio, "USA", published["id"])  # the hub's copy, passed on as go-between
        assert _trail(trio, "ROK", published["id"]) == [
            ("ROK", "JPN", False, "recipients"),
            ("ROK", "JPN", True, "recipients"),
        ]
        assert _trail(trio, "USA", at_usa) == [("ROK", "JPN", True, "recipients")]  # never decided for the USA
        assert _transfers(trio, "USA") == [("JPN", "JPN", "recipients")]
        assert _trail(trio, "JPN", at_jpn) == [("ROK", "JPN", True, "recipients")]
        sent = trio.get("ROK", f"/api/v1/reports/{published['id']}/deliveries")
        assert [(one["to"], one["final"], one["state"], one["asked_by"]) for one in sent] == [
            ("USA", "JPN", "delivered", "recipients")
        ]
        with trio.nodes["ROK"].uow.engine.connect() as connection:
            entries = list(read_entries(connection))
        decided = [entry.data for entry in entries if entry.kind == "decide"]
        assert [(one["to"], one["allowed"], one["asked_by"]) for one in decided] == [
            ("JPN", False, "recipients"),
            ("JPN", True, "recipients"),
        ]
        [delivered] = [entry.data for entry in entries if entry.kind == "delivered"]
        assert (delivered["final"], delivered["asked_by"]) == ("JPN", "recipients")
        trio.intact()

    def test_a_relay_consent_for_items_published_to_others_sends_nothing_new(self, nodes: Trio) -> None:
        trio = nodes
        rok = trio.post("ROK", "/api/v1/reports", MISSILE | {"recipients": ["USA"]})
        usa = trio.post("USA", "/api/v1/reports", MISSILE | {"level": "SECRET", "recipients": ["ROK"]})
        _everyone(trio)
        trio.post("ROK", f"/api/v1/reports/{rok['id']}/consents", TISA)
        trio.post("USA", f"/api/v1/reports/{usa['id']}/consents", TISA)
        _everyone(trio)

        assert _transfers(trio, "ROK") == [("USA", "USA", "recipients")]
        assert _transfers(trio, "USA") == [("ROK", "ROK", "recipients")]
        assert _held(trio, "JPN", rok["id"]) == _held(trio, "JPN", usa["id"]) == []
        assert [one["to"] for one in trio.get("ROK", "/api/v1/decisions", report=rok["id"])] == ["USA"]
        trio.intact()


class TestReleaseConsentAtTheOriginator:
    """A release consent to a party the publisher did not name sends nothing from the originator."""

    def test_rok_consenting_to_release_to_the_usa_sends_the_usa_nothing(self, nodes: Trio) -> None:
        trio = nodes
        rok_id, jpn_id = trio.publish_for_jpn()
        statement = trio.post("ROK", f"/api/v1/reports/{rok_id}/consents", {"to": "USA"})
        assert _transfers(trio, "ROK") == [("JPN", "JPN", "recipients")]
        _everyone(trio)

        assert _held(trio, "USA", rok_id) == []
        assert _transfers(trio, "JPN") == []  # JPN knows of the consent, and waits for a user
        [shown] = trio.get("JPN", "/api/v1/consents")
        assert (shown["id"], shown["direction"], shown["report_id"], shown["to"]) == (
            statement["id"],
            "received",
            jpn_id,
            "USA",
        )
        assert (shown["request"], shown["title"], shown["statement"]) == (None, MISSILE["title"], statement)
        [own] = trio.get("ROK", "/api/v1/consents")
        assert (own["direction"], own["report_id"]) == ("granted", rok_id)
        assert trio.get("USA", "/api/v1/consents") == []  # the USA holds nothing it is about
        trio.intact()


class TestTheConsentInTheAuditLog:
    """A received consent names the item by its originator's id: still hidden from an auditor not cleared for it."""

    def test_an_auditor_below_the_items_level_sees_the_consent_redacted(self, nodes: Trio) -> None:
        trio = nodes
        rok_id, _ = trio.publish_for_jpn()
        trio.post("ROK", f"/api/v1/reports/{rok_id}/consents", {"to": "USA"})
        _everyone(trio)
        _, token = add_user(trio.nodes["JPN"], "auditor", "秘", [], roles=["auditor"])
        page = trio.api["JPN"].get(
            "/api/v1/audit", params={"limit": 1000}, headers={"Authorization": f"Bearer {token}"}
        )
        assert page.status_code == 200, page.text
        received = [entry for entry in page.json()["entries"] if entry["kind"] == "consent-received"]
        assert received
        assert all(entry["redacted"] and entry["data"] is None for entry in received)
        assert rok_id not in page.text


class TestOnwardRelease:
    """At a holder an unasked consent waits for a user's explicit release, which is decided and audited."""

    def test_an_unsolicited_consent_sends_nothing_until_a_user_releases_the_item(self, nodes: Trio) -> None:
        trio = nodes
        rok_id, jpn_id = trio.publish_for_jpn()
        trio.post("ROK", f"/api/v1/reports/{rok_id}/consents", {"to": "USA"})
        _everyone(trio)
        assert _held(trio, "USA", rok_id) == []

        released = trio.post("JPN", f"/api/v1/reports/{jpn_id}/releases", {"to": "USA"})
        assert (released["allowed"], released["asked_by"], released["route"]) == (True, "release", ["JPN", "USA"])
        assert released["envelope"]
        assert _transfers(trio, "JPN") == [("USA", "USA", "release")]
        _everyone(trio)

        [(at_usa, came_from)] = _held(trio, "USA", rok_id)
        assert came_from == "JPN"
        assert _trail(trio, "USA", at_usa) == [("JPN", "USA", True, "release")]
        sent = trio.get("JPN", f"/api/v1/reports/{jpn_id}/deliveries")
        assert [(one["to"], one["state"], one["asked_by"]) for one in sent] == [("USA", "delivered", "release")]
        assert ("release", "officer") in trio.audit_kinds("JPN")
        again = trio.post("JPN", f"/api/v1/reports/{jpn_id}/releases", {"to": "USA"}, status=409)
        assert "already" in again["error"]["message"]
        trio.intact()

    def test_a_release_without_consent_is_refused_with_its_reasons_and_sends_nothing(self, sqlite_nodes: Trio) -> None:
        trio = sqlite_nodes
        _, jpn_id = trio.publish_for_jpn()
        refused = trio.post("JPN", f"/api/v1/reports/{jpn_id}/releases", {"to": "USA"})
        assert (refused["allowed"], refused["envelope"], refused["asked_by"]) == (False, None, "release")
        assert [reason["code"] for reason in refused["reasons"]] == ["no-originator-consent"]
        assert _trail(trio, "JPN", jpn_id) == [("ROK", "JPN", True, "recipients"), ("JPN", "USA", False, "release")]
        assert _transfers(trio, "JPN") == []
        assert ("release", "officer") in trio.audit_kinds("JPN")

        path = f"/api/v1/reports/{jpn_id}/releases"
        assert trio.post("JPN", path, {"to": "ROK"}, status=422)["error"]["code"] == "invalid"  # its originator
        trio.post("JPN", path, {"to": "JPN"}, status=422)
        trio.post("JPN", path, {"to": "CHN"}, status=422)
        trio.post("JPN", path, {"to": "USA", "until": None}, status=422)  # no unknown fields
        trio.post("JPN", "/api/v1/reports/nothing/releases", {"to": "USA"}, status=404)
        trio.intact()

    def test_release_and_inbox_from_the_command_line(self, nodes_now: Trio) -> None:
        trio = nodes_now
        rok_id, jpn_id = trio.publish_for_jpn()
        runner = CliRunner()
        jpn = str(trio.folders["JPN"])

        refused = runner.invoke(cli, ["report", "release", jpn, jpn_id, "--to", "USA"])
        assert refused.exit_code == 1, refused.output
        assert "no-originator-consent" in refused.stdout
        trio.post("ROK", f"/api/v1/reports/{rok_id}/consents", {"to": "USA"})
        trio.dispatch("ROK")
        inbox = runner.invoke(cli, ["consent", "inbox", jpn, "--json"])
        assert [(one["report_id"], one["to"], one["request"]) for one in json.loads(inbox.stdout)] == [
            (jpn_id, "USA", None)
        ]
        assert (
            "1 consent(s) that no request of this node asked for"
            in runner.invoke(cli, ["consent", "inbox", jpn]).stdout
        )
        released = runner.invoke(cli, ["report", "release", jpn, jpn_id, "--to", "USA", "--json"])
        assert released.exit_code == 0, released.output
        assert (json.loads(released.stdout)["allowed"], json.loads(released.stdout)["asked_by"]) == (True, "release")
        assert runner.invoke(cli, ["report", "release", jpn, "nothing", "--to", "USA"]).exit_code == 2
        assert runner.invoke(cli, ["report", "release", jpn, jpn_id, "--to", "USA"]).exit_code == 2  # sent already
        trio.intact()


class TestRequestedConsent:
    """A consent this node asked for is acted on by the node itself, once, however often it is granted."""

    def test_a_requested_consent_granted_twice_sends_the_item_once(self, nodes: Trio) -> None:
        trio = nodes
        rok_id, jpn_id = trio.publish_for_jpn()
        asked = trio.post("JPN", f"/api/v1/reports/{jpn_id}/consent-requests", {"to": "USA", "purpose": PURPOSE})
        trio.dispatch("JPN")
        trio.post("ROK", f"/api/v1/reports/{rok_id}/consents", {"to": "USA"})  # granted directly, not as an answer
        trio.dispatch("ROK")
        assert _transfers(trio, "JPN") == [("USA", "USA", "consent-request")]
        with trio.nodes["JPN"].uow.engine.connect() as connection:
            state = connection.execute(select(consent_requests.c.state).where(consent_requests.c.id == asked["id"]))
            assert state.scalar_one() == "granted"

        trio.post("ROK", f"/api/v1/consent-requests/{asked['id']}/answer", {"grant": True}, status=200)
        _everyone(trio)
        assert _transfers(trio, "JPN") == [("USA", "USA", "consent-request")]
        [(at_usa, came_from)] = _held(trio, "USA", rok_id)
        assert came_from == "JPN"
        assert _trail(trio, "USA", at_usa) == [("JPN", "USA", True, "consent-request")]
        inbox = trio.get("JPN", "/api/v1/consents")
        assert {one["request"] for one in inbox} == {asked["id"], None}  # the first answered it; the second came late
        trio.intact()

    def test_a_hub_that_relayed_the_item_there_meanwhile_still_sends_its_own_once_granted(self, ended: Trio) -> None:
        """USA asks ROK's consent to pass ROK's item to JPN; ROK releases it to JPN through USA; then grants.

        The relay met ROK's ask, not USA's: USA's own transfer goes too, and JPN, holding the item already, answers
        it as a duplicate and keeps one copy (found by tests/integration/test_release_properties.py).
        """
        trio = ended
        published = trio.post("ROK", "/api/v1/reports", MISSILE | {"recipients": ["USA"]})
        trio.post("ROK", f"/api/v1/reports/{published['id']}/consents", TISA)
        trio.dispatch("ROK")
        [(at_usa, _)] = _held(trio, "USA", published["id"])
        asked = trio.post("USA", f"/api/v1/reports/{at_usa}/consent-requests", {"to": "JPN", "purpose": PURPOSE})
        released = trio.post("ROK", f"/api/v1/reports/{published['id']}/releases", {"to": "JPN"})
        assert released["route"] == ["ROK", "USA", "JPN"]
        _everyone(trio)
        assert [one[1] for one in _held(trio, "JPN", published["id"])] == ["USA"]
        assert _transfers(trio, "USA") == [("JPN", "JPN", "release")]  # the relay, asked for by ROK's release

        trio.post("ROK", f"/api/v1/consent-requests/{asked['id']}/answer", {"grant": True}, status=200)
        _everyone(trio)
        assert _transfers(trio, "USA") == [("JPN", "JPN", "release"), ("JPN", "JPN", "consent-request")]
        sent = trio.get("USA", f"/api/v1/reports/{at_usa}/deliveries")
        assert [one["state"] for one in sent if one["kind"] == "transfer"] == ["delivered", "delivered"]
        assert len(_held(trio, "JPN", published["id"])) == 1
        trio.intact()


class TestMigration:
    """Migration 0008 marks every decision and transfer stored before it as asked for by the recipients."""

    def test_rows_stored_before_asked_by_existed_become_recipients(self, database_url: str) -> None:
        engine = database.create(database_url)
        try:
            command.upgrade(database._alembic_config(engine), "0007")  # noqa: SLF001 - the migrations' own config
            with engine.begin() as connection:
                connection.execute(text(OLD_REPORT))
                connection.execute(text(OLD_DECISION))
                for envelope, kind in (("e1", "transfer"), ("e2", "act")):
                    connection.execute(text(OLD_OUTBOX), {"envelope": envelope, "kind": kind})
            database.migrate(engine)
            with engine.connect() as connection:
                assert connection.execute(select(decisions.c.asked_by)).scalars().all() == ["recipients"]
                found = connection.execute(select(outbox.c.envelope_id, outbox.c.asked_by).order_by(outbox.c.seq))
                assert [tuple(row) for row in found] == [("e1", "recipients"), ("e2", None)]
        finally:
            engine.dispose()


OLD_REPORT = """INSERT INTO reports (id, originator, origin_id, title, level, level_rank, precedence, compartments,
categories, body_type, body, created_at) VALUES ('r1', 'ROK', 'r1', 't', '군사II급비밀', 1, 'routine', '[]', '[]',
'text', 'b', '2019-07-25T00:00:00.000000Z')"""
OLD_DECISION = """INSERT INTO decisions (report_id, holder, recipient, at, allowed, route, legs, reasons)
VALUES ('r1', 'ROK', 'JPN', '2019-07-25T00:00:00.000000Z', true, '[]', '[]', '[]')"""
OLD_OUTBOX = """INSERT INTO outbox (envelope_id, kind, recipient, final, report_id, rank, payload, state, attempts,
next_at, created_at) VALUES (:envelope, :kind, 'JPN', 'JPN', 'r1', 3, '{}', 'pending', 0,
'2019-07-25T00:00:00.000000Z', '2019-07-25T00:00:00.000000Z')"""
