"""Onward release on the originator's consent, and loss or compromise, between three real nodes over loopback.

ROK originates a dprk-missile report for JPN only; JPN asks ROK for consent to release it to the USA; nothing
goes to the USA before ROK grants, and the USA's node checks the consent the transfer carries (GSOMIA art. 6).
A compromise reported at JPN is recorded at ROK at once, signed (art. 17). The dispatchers are run by hand.
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pactnet.cli.main import app as cli
from pactnet.crypto.envelope import open_envelope, seal
from pactnet.crypto.identity import verify_identity
from pactnet.federation.dispatcher import Dispatcher
from pactnet.federation.partners import load_partners, save_partners
from pactnet.node import Node, identity_document, init_node, open_node
from pactnet.policy.precedence import Precedence
from pactnet.services import audit
from pactnet.services.consents import build_statement
from pactnet.services.inbound import receive
from pactnet.services.users import add_user
from pactnet.store.audit_log import read_entries
from pactnet.store.tables import compromises, consents, outbox, reports
from tests.databases import fresh_postgres_database
from tests.integration.conftest import WORKING_ROLES, Clock, LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

JULY = datetime.fromisoformat("2019-07-25T06:00:00+09:00")
PARTIES = ("JPN", "ROK", "USA")
CLEARANCE = {"ROK": "군사II급비밀", "JPN": "極秘", "USA": "SECRET"}
PURPOSE = "USFJ missile-defence tracking of the 25 July launches"


@dataclass
class Trio:
    """ROK, JPN and USA nodes serving their APIs on loopback, each trusting the two others."""

    nodes: dict[str, Node]
    folders: dict[str, Path]
    api: dict[str, httpx.Client]
    clock: Clock
    dispatchers: dict[str, Dispatcher] = field(default_factory=dict)

    def dispatch(self, *parties: str, urgent: bool = False) -> None:
        """One round of each party's dispatcher, in order."""
        for party in parties:
            self.dispatchers[party].run_once(urgent=urgent)

    def post(self, party: str, path: str, body: dict[str, Any], status: int = 201) -> Any:
        response = self.api[party].post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, party: str, path: str, **params: str) -> Any:
        response = self.api[party].get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def publish_for_jpn(self) -> tuple[str, str]:
        """ROK publishes a SECRET-equivalent missile report for JPN only; JPN receives it. Both ids."""
        body = {
            "title": "Two SRBMs from Hodo peninsula",
            "level": "군사II급비밀",
            "categories": ["dprk-missile"],
            "precedence": "flash",
            "body": "launch at 05:34 and 05:57 KST, apogee 50 km",
            "recipients": ["JPN"],
        }
        published = self.post("ROK", "/api/v1/reports", body)
        assert [(one["to"], one["allowed"]) for one in published["decisions"]] == [("JPN", True)]
        self.dispatch("ROK")
        held = self.get("JPN", "/api/v1/reports")["items"]
        assert [(one["originator"], one["level"], one["received_from"]) for one in held] == [("ROK", "極秘", "ROK")]
        return published["id"], held[0]["id"]

    def count(self, party: str, table: Any, *where: Any) -> int:
        with self.nodes[party].uow.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    def audit_kinds(self, party: str) -> list[tuple[str, str]]:
        with self.nodes[party].uow.engine.connect() as connection:
            return [(entry.kind, entry.actor) for entry in read_entries(connection)]

    def intact(self) -> None:
        for party, node in self.nodes.items():
            assert audit.verify(node).intact, party


def _trio(tmp_path: Path, kind: str, start: datetime = JULY, world: str = "gsomia-2019") -> Iterator[Trio]:
    clock = Clock(start)
    with ExitStack() as stack:
        folders: dict[str, Path] = {}
        for party in PARTIES:
            url = stack.enter_context(fresh_postgres_database()) if kind == "postgresql" else None
            folders[party] = tmp_path / party.lower()
            init_node(folders[party], world, party, url)
        nodes: dict[str, Node] = {}
        for party in PARTIES:
            nodes[party] = open_node(folders[party], clock)
            stack.callback(nodes[party].close)
        urls = {party: stack.enter_context(LoopbackServer(nodes[party])) for party in PARTIES}
        for party in PARTIES:
            registry = load_partners(folders[party], party, PARTIES)
            for other in PARTIES:
                if other != party:
                    document = identity_document(folders[other], urls[other], JULY - timedelta(days=1))
                    registry = registry.trust(verify_identity(document))
            save_partners(folders[party], registry)
        api: dict[str, httpx.Client] = {}
        for party in PARTIES:
            _, token = add_user(nodes[party], "officer", CLEARANCE[party], [], roles=WORKING_ROLES)
            headers = {"Authorization": f"Bearer {token}"}
            api[party] = stack.enter_context(httpx.Client(base_url=urls[party], headers=headers, timeout=30))
        trio = Trio(nodes, folders, api, clock)
        for party in PARTIES:
            trio.dispatchers[party] = Dispatcher(nodes[party])
            stack.callback(trio.dispatchers[party].client.close)
        yield trio


@pytest.fixture(params=["sqlite", "postgresql"])
def trio(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trio]:
    """The three nodes on each kind of database."""
    yield from _trio(tmp_path, request.param)


@pytest.fixture
def sqlite_trio(tmp_path: Path) -> Iterator[Trio]:
    """The three nodes on SQLite, for the paths where the database makes no difference."""
    yield from _trio(tmp_path, "sqlite")


@pytest.fixture
def trio_now(tmp_path: Path) -> Iterator[Trio]:
    """The three nodes on SQLite with the wall clock's time, as the command line has it."""
    yield from _trio(tmp_path, "sqlite", datetime.now(UTC))


class TestConsentGranted:
    """JPN asks; nothing goes to the USA until ROK grants; then JPN sends and the USA checks the consent."""

    def test_the_item_reaches_the_usa_only_after_rok_grants_and_the_usa_accepts_the_carried_consent(
        self, trio: Trio
    ) -> None:
        rok_id, jpn_id = trio.publish_for_jpn()

        asked = trio.post("JPN", f"/api/v1/reports/{jpn_id}/consent-requests", {"to": "USA", "purpose": PURPOSE})
        assert (asked["direction"], asked["state"], asked["originator"], asked["holder"]) == (
            "outgoing",
            "pending",
            "ROK",
            "JPN",
        )
        assert (asked["origin_id"], asked["to"], asked["delivery"]["state"]) == (rok_id, "USA", "pending")
        trail = trio.get("JPN", "/api/v1/decisions", report=jpn_id)
        to_usa = [one for one in trail if one["to"] == "USA"]
        assert [(one["allowed"], [r["code"] for r in one["reasons"]]) for one in to_usa] == [
            (False, ["no-originator-consent"])
        ]
        trio.dispatch("JPN")  # the request goes to ROK
        incoming = trio.get("ROK", "/api/v1/consent-requests")
        assert [(one["id"], one["direction"], one["state"]) for one in incoming] == [
            (asked["id"], "incoming", "pending")
        ]
        assert (incoming[0]["report_id"], incoming[0]["holder"], incoming[0]["purpose"]) == (rok_id, "JPN", PURPOSE)
        assert trio.get("JPN", "/api/v1/consent-requests")[0]["delivery"]["state"] == "delivered"

        trio.dispatch("ROK", "JPN", "USA")  # before the grant, nothing is on its way to the USA
        assert trio.count("JPN", outbox, outbox.c.kind == "transfer", outbox.c.recipient == "USA") == 0
        assert trio.count("USA", reports) == 0

        trio.clock.advance(minutes=20)
        granted = trio.post("ROK", f"/api/v1/consent-requests/{asked['id']}/answer", {"grant": True}, status=200)
        statement = granted["statement"]
        assert granted["state"] == "granted"
        assert (statement["by"], statement["report"], statement["to"], statement["arrangement"]) == (
            "ROK",
            rok_id,
            "USA",
            None,
        )
        assert trio.count("ROK", reports) == 1  # granting sends nothing from ROK itself

        trio.dispatch("ROK")  # the signed consent reaches JPN, which decides again and queues the transfer
        at_jpn = trio.get("JPN", "/api/v1/consent-requests")[0]
        assert (at_jpn["state"], at_jpn["answered_by"], at_jpn["statement"]) == ("granted", "ROK", statement)
        assert trio.count("JPN", outbox, outbox.c.kind == "transfer", outbox.c.recipient == "USA") == 1

        trio.dispatch("JPN")  # JPN sends the item to the USA, carrying ROK's consent
        held = trio.get("USA", "/api/v1/reports")["items"]
        assert [(one["originator"], one["received_from"], one["level"]) for one in held] == [("ROK", "JPN", "SECRET")]
        usa_trail = trio.get("USA", "/api/v1/decisions", report=held[0]["id"])
        assert [(one["holder"], one["to"], one["allowed"], one["route"]) for one in usa_trail] == [
            ("JPN", "USA", True, ["JPN", "USA"])
        ]
        assert trio.count("USA", consents, consents.c.id == statement["id"]) == 1  # adopted, verified by ROK's key
        sent = trio.get("JPN", f"/api/v1/reports/{jpn_id}/deliveries")
        assert [(one["kind"], one["to"], one["state"]) for one in sent] == [
            ("consent-request", "ROK", "delivered"),
            ("transfer", "USA", "delivered"),
        ]
        assert ("consent-requested", "JPN") in trio.audit_kinds("ROK")
        assert ("consent-granted", "officer") in trio.audit_kinds("ROK")
        assert {("consent-requested", "officer"), ("consent-received", "ROK"), ("consent-granted", "ROK")} <= set(
            trio.audit_kinds("JPN")
        )

        # The USA, which had the item from JPN, tells its originator, ROK, of a possible compromise.
        reported = trio.post("USA", f"/api/v1/reports/{held[0]['id']}/compromise", {"description": "possible leak"})
        trio.dispatch("USA", urgent=True)
        at_rok = trio.get("ROK", "/api/v1/compromises")
        assert [(one["id"], one["report_id"], one["reporter"]) for one in at_rok] == [(reported["id"], rok_id, "USA")]
        assert trio.get("USA", "/api/v1/compromises")[0]["delivery"]["state"] == "delivered"
        trio.intact()


class TestConsentRefused:
    """A refusal, with its reason, reaches the holder; nothing is sent; an answered request stays answered."""

    def test_rok_refuses_and_jpn_records_the_refusal_and_sends_nothing(self, sqlite_trio: Trio) -> None:
        trio = sqlite_trio
        _, jpn_id = trio.publish_for_jpn()
        asked = trio.post("JPN", f"/api/v1/reports/{jpn_id}/consent-requests", {"to": "USA", "purpose": PURPOSE})
        trio.dispatch("JPN")
        path = f"/api/v1/consent-requests/{asked['id']}/answer"
        trio.post("ROK", path, {"grant": False}, status=422)  # a refusal says why
        refused = trio.post("ROK", path, {"grant": False, "reason": "not for further release"}, status=200)
        assert (refused["state"], refused["statement"]) == ("refused", None)
        trio.post("ROK", path, {"grant": True}, status=409)
        trio.post("JPN", path, {"grant": True}, status=404)  # JPN cannot answer its own request

        trio.dispatch("ROK", "JPN", "USA")
        at_jpn = trio.get("JPN", "/api/v1/consent-requests")[0]
        assert (at_jpn["state"], at_jpn["answered_by"]) == ("refused", "ROK")
        assert at_jpn["reasons"] == [{"code": "consent-refused", "message": "not for further release"}]
        assert trio.get("ROK", "/api/v1/consent-requests")[0]["delivery"]["state"] == "delivered"
        assert trio.count("JPN", outbox, outbox.c.kind == "transfer", outbox.c.recipient == "USA") == 0
        assert trio.count("USA", reports) == 0
        assert ("consent-refused", "ROK") in trio.audit_kinds("JPN")
        # Asked again after a refusal: a new request, not a conflict.
        trio.post("JPN", f"/api/v1/reports/{jpn_id}/consent-requests", {"to": "USA", "purpose": "again"})
        trio.intact()

    def test_requests_that_consent_could_not_help_are_refused(self, sqlite_trio: Trio) -> None:
        trio = sqlite_trio
        rok_id, jpn_id = trio.publish_for_jpn()
        ask = f"/api/v1/reports/{jpn_id}/consent-requests"
        trio.post("ROK", f"/api/v1/reports/{rok_id}/consent-requests", {"to": "USA", "purpose": "x"}, status=422)
        trio.post("JPN", ask, {"to": "ROK", "purpose": "x"}, status=422)  # the originator needs no consent
        trio.post("JPN", ask, {"to": "JPN", "purpose": "x"}, status=422)
        trio.post("JPN", ask, {"to": "CHN", "purpose": "x"}, status=422)
        trio.post("JPN", "/api/v1/reports/nothing/consent-requests", {"to": "USA", "purpose": "x"}, status=404)
        trio.post("JPN", ask, {"to": "USA", "purpose": PURPOSE})
        again = trio.post("JPN", ask, {"to": "USA", "purpose": PURPOSE}, status=409)
        assert "asked already" in again["error"]["message"]
        _, token = add_user(trio.nodes["JPN"], "clerk", "秘", [])
        low = trio.api["JPN"].post(
            ask, json={"to": "USA", "purpose": "x"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert low.status_code == 404  # not cleared for the item: as if it did not exist
        assert trio.get("JPN", "/api/v1/consent-requests") != []
        assert (
            trio.api["JPN"].get("/api/v1/consent-requests", headers={"Authorization": f"Bearer {token}"}).json() == []
        )


class TestTheRecipientChecksTheConsent:
    """A transfer of ROK's item from JPN to the USA is accepted only with a valid consent signed by ROK."""

    def _send(self, trio: Trio, item_id: str, carried: list[dict[str, Any]] | None) -> dict[str, Any]:
        """JPN's transfer of ROK's item `item_id` to the USA, carrying `carried`; the USA's answer, opened."""
        payload: dict[str, Any] = {
            "report": {
                "id": item_id,
                "originator": "ROK",
                "title": "Launch",
                "level": "군사II급비밀",
                "categories": ["dprk-missile"],
                "rel_to": None,
                "precedence": "flash",
                "compartments": [],
                "body_type": "text",
                "body": "launch",
                "created": "2019-07-25T05:00:00+09:00",
            },
            "under": "USA-JPN-GSOMIA-2007",
            "route": ["JPN"],
        }
        if carried is not None:
            payload["consents"] = carried
        jpn, usa = trio.nodes["JPN"], trio.nodes["USA"]
        envelope = seal(jpn.keys, "JPN", "USA", usa.keys.public_encryption, "transfer", payload, trio.clock.at)
        answer = open_envelope(jpn.keys, "JPN", receive(usa, envelope), usa.keys.public_signing, trio.clock.at)
        return {"kind": answer.kind} | answer.payload

    def _codes(self, answer: dict[str, Any]) -> list[str]:
        assert answer["kind"] == "refusal"
        return [reason["code"] for reason in answer["reasons"]]

    def test_absent_forged_altered_or_misdirected_consents_are_refused(self, sqlite_trio: Trio) -> None:
        trio = sqlite_trio
        rok, jpn, at = trio.nodes["ROK"], trio.nodes["JPN"], trio.clock.at
        item = uuid.uuid4().hex
        assert self._codes(self._send(trio, item, None)) == ["no-originator-consent"]
        forged = build_statement(jpn, item, "USA", None, at, None) | {"by": "ROK"}  # signed by JPN's key
        assert self._codes(self._send(trio, item, [forged])) == ["bad-consent"]
        altered = build_statement(rok, item, "JPN", None, at, None) | {"to": "USA"}  # ROK consented to JPN only
        assert self._codes(self._send(trio, item, [altered])) == ["bad-consent"]
        another_item = build_statement(rok, uuid.uuid4().hex, "USA", None, at, None)
        assert self._codes(self._send(trio, item, [another_item])) == ["bad-consent"]
        to_another_party = build_statement(rok, item, "JPN", None, at, None)  # genuine, but not to the USA
        assert self._codes(self._send(trio, item, [to_another_party])) == ["no-originator-consent"]
        lapsed = build_statement(rok, item, "USA", None, at - timedelta(days=2), at - timedelta(days=1))
        assert self._codes(self._send(trio, item, [lapsed])) == ["no-originator-consent"]
        assert trio.count("USA", reports) == 0

        accepted = self._send(trio, item, [build_statement(rok, item, "USA", None, at, None)])
        assert (accepted["kind"], accepted["marking"]) == ("receipt", {"originator": "ROK", "level": "SECRET"})
        assert trio.count("USA", reports) == 1
        trio.intact()


class TestCompromise:
    """A compromise reported at JPN reaches ROK at flash precedence, signed, and both record it."""

    def test_a_compromise_at_jpn_is_recorded_at_rok_at_once(self, sqlite_trio: Trio) -> None:
        trio = sqlite_trio
        rok_id, jpn_id = trio.publish_for_jpn()
        description = "a laptop holding the report was stolen from a car in Ichigaya at 02:10"
        reported = trio.post("JPN", f"/api/v1/reports/{jpn_id}/compromise", {"description": description})
        assert (reported["direction"], reported["originator"], reported["reporter"]) == ("outgoing", "ROK", "JPN")
        assert reported["delivery"]["state"] == "pending"
        assert trio.count("JPN", outbox, outbox.c.kind == "compromise", outbox.c.rank == Precedence.FLASH.rank) == 1

        trio.dispatch("JPN", urgent=True)  # the urgent lane takes it
        at_rok = trio.get("ROK", "/api/v1/compromises")
        assert [(one["id"], one["direction"], one["report_id"], one["reporter"]) for one in at_rok] == [
            (reported["id"], "incoming", rok_id, "JPN")
        ]
        assert (at_rok[0]["description"], at_rok[0]["reported_by"], at_rok[0]["delivery"]) == (
            description,
            "officer",
            None,
        )
        at_jpn = trio.get("JPN", "/api/v1/compromises")
        assert [(one["direction"], one["delivery"]["state"]) for one in at_jpn] == [("outgoing", "delivered")]
        assert ("compromise-reported", "JPN") in trio.audit_kinds("ROK")
        assert ("compromise-reported", "officer") in trio.audit_kinds("JPN")
        assert ("delivered", "ROK") in trio.audit_kinds("JPN")
        assert trio.count("ROK", compromises) == trio.count("JPN", compromises) == 1
        trio.intact()

    def test_only_a_received_item_can_be_reported_to_its_originator(self, sqlite_trio: Trio) -> None:
        trio = sqlite_trio
        rok_id, _ = trio.publish_for_jpn()
        trio.post("ROK", f"/api/v1/reports/{rok_id}/compromise", {"description": "lost"}, status=422)
        trio.post("JPN", "/api/v1/reports/nothing/compromise", {"description": "lost"}, status=404)
        trio.post("JPN", f"/api/v1/reports/{rok_id}/compromise", {"description": ""}, status=422)


def _notice(trio: Trio, kind: str, payload: dict[str, Any], sender: str = "JPN", to: str = "ROK") -> dict[str, Any]:
    """An envelope of `kind` from `sender` to `to`, received there; its signed answer, opened."""
    source, target = trio.nodes[sender], trio.nodes[to]
    envelope = seal(source.keys, sender, to, target.keys.public_encryption, kind, payload, trio.clock.at)
    answer = open_envelope(source.keys, sender, receive(target, envelope), target.keys.public_signing, trio.clock.at)
    return {"kind": answer.kind} | answer.payload


class TestNoticesThatDoNotFit:
    """Requests, refusals and compromise reports that name nothing known here are refused, signed, with a code."""

    def test_each_is_refused_with_its_code_and_a_resent_compromise_is_recorded_once(self, sqlite_trio: Trio) -> None:
        trio = sqlite_trio
        rok_id, _ = trio.publish_for_jpn()
        at = trio.clock.at.isoformat()
        request = {"request": uuid.uuid4().hex, "origin_id": rok_id, "to": "USA", "purpose": "x", "requested_by": "a"}
        request["at"] = at
        cases = [
            ("consent-request", request | {"origin_id": "unknown"}, "unknown-report"),
            ("consent-request", request | {"to": "JPN"}, "bad-consent-request"),
            ("consent-request", request | {"purpose": ""}, "malformed-payload"),
            ("consent-request", request | {"at": "yesterday"}, "malformed-payload"),
            ("consent-refused", {"request": "unknown", "reason": "no", "at": at}, "unknown-request"),
            (
                "compromise",
                {"compromise": "c1", "origin_id": "unknown", "description": "lost", "reported_by": "a"} | {"at": at},
                "unknown-report",
            ),
        ]
        for kind, payload, code in cases:
            answer = _notice(trio, kind, payload)
            assert (kind, answer["kind"], [r["code"] for r in answer.get("reasons", [])]) == (kind, "refusal", [code])
        assert trio.count("ROK", compromises) == 0

        compromise = {"compromise": "c2", "origin_id": rok_id, "description": "lost", "reported_by": "a", "at": at}
        first = _notice(trio, "compromise", compromise)
        again = _notice(trio, "compromise", compromise)  # resent under a new envelope id
        assert (first["kind"], again["kind"], again["duplicate"]) == ("receipt", "receipt", True)
        assert trio.count("ROK", compromises) == 1
        assert _notice(trio, "compromise", compromise, sender="USA")["reasons"][0]["code"] == "duplicate-id"
        trio.intact()


class TestCommandLine:
    """The same acts from the node's folder: queued in the outbox, sent by the node's dispatcher."""

    def test_the_inboxes_show_the_reports_title_and_the_purpose(self, trio_now: Trio) -> None:
        trio = trio_now
        _, jpn_id = trio.publish_for_jpn()
        runner = CliRunner()
        jpn, rok = str(trio.folders["JPN"]), str(trio.folders["ROK"])
        asked = runner.invoke(cli, ["consent", "request", jpn, jpn_id, "--to", "USA", "--purpose", PURPOSE, "--json"])
        assert asked.exit_code == 0, asked.output
        assert json.loads(asked.stdout)["report_title"] == "Two SRBMs from Hodo peninsula"
        trio.clock.at = datetime.now(UTC)
        trio.dispatch("JPN")
        listed = json.loads(runner.invoke(cli, ["consent", "list", rok, "--json"]).stdout)
        assert [(one["report_title"], one["purpose"]) for one in listed] == [("Two SRBMs from Hodo peninsula", PURPOSE)]
        # A table wraps long cells over lines: every word is there.
        table = runner.invoke(cli, ["consent", "list", rok])
        assert all(word in table.stdout for word in f"Two SRBMs from Hodo peninsula {PURPOSE}".split())
        reported = runner.invoke(cli, ["report", "compromise", jpn, jpn_id, "--description", "lost in transit"])
        assert reported.exit_code == 0, reported.output
        table = runner.invoke(cli, ["report", "compromises", jpn])
        assert all(
            word in table.stdout for word in ["Two", "SRBMs", "from", "Hodo", "peninsula", "lost", "in", "transit"]
        )

    def test_request_answer_list_and_compromise_from_the_command_line(self, trio_now: Trio) -> None:
        trio = trio_now
        _, jpn_id = trio.publish_for_jpn()
        runner = CliRunner()
        jpn, rok = str(trio.folders["JPN"]), str(trio.folders["ROK"])

        asked = runner.invoke(cli, ["consent", "request", jpn, jpn_id, "--to", "USA", "--purpose", PURPOSE, "--json"])
        assert asked.exit_code == 0, asked.output
        request_id = json.loads(asked.stdout)["id"]
        trio.clock.at = datetime.now(UTC)  # the command acted at the wall clock's instant
        trio.dispatch("JPN")
        listed = runner.invoke(cli, ["consent", "list", rok, "--json"])
        assert [(one["id"], one["state"]) for one in json.loads(listed.stdout)] == [(request_id, "pending")]
        refused = runner.invoke(cli, ["consent", "answer", rok, request_id, "--refuse"])
        assert refused.exit_code == 2
        assert "reason" in refused.output
        granted = runner.invoke(cli, ["consent", "answer", rok, request_id, "--grant", "--reason", "for tracking"])
        assert granted.exit_code == 0, granted.output
        assert "granted" in granted.stdout
        table = runner.invoke(cli, ["consent", "list", rok])
        assert request_id in table.stdout
        assert "granted" in table.stdout

        reported = runner.invoke(cli, ["report", "compromise", jpn, jpn_id, "--description", "lost in transit"])
        assert reported.exit_code == 0, reported.output
        listed = runner.invoke(cli, ["report", "compromises", jpn, "--json"])
        assert [one["description"] for one in json.loads(listed.stdout)] == ["lost in transit"]
        missing = runner.invoke(cli, ["report", "compromise", jpn, "nothing", "--description", "lost"])
        assert missing.exit_code == 2
        trio.intact()
