"""Federation end to end: nodes of ROK, JPN and USA on real loopback HTTP, each with its own database.

Most tests run the nodes in this process (their APIs served by uvicorn in threads, their time from one clock
the test moves by hand) and drive the dispatchers with `run_once`, so that every step is deterministic; the
partner-down test runs real `pactnet node serve` processes (pactnet.cluster) with their own dispatchers.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from pactnet.api.app import create_app
from pactnet.api.serving import server_settings
from pactnet.cluster import ClusterNode, create_cluster
from pactnet.crypto.envelope import open_envelope, seal
from pactnet.crypto.keys import NodeKeys
from pactnet.federation.client import PartnerClient, PartnerUnreachableError, envelope_size, request_limit
from pactnet.federation.dispatcher import Dispatcher
from pactnet.node import Node, open_node
from pactnet.scenario import set_scenario
from pactnet.services import audit
from pactnet.store import database
from pactnet.store.audit_log import read_entries
from pactnet.store.instants import parse_instant_text
from pactnet.store.outbox import PENDING
from pactnet.store.tables import consents, envelopes, outbox, reports
from tests.databases import fresh_postgres_database
from tests.integration.conftest import Clock
from tests.integration.test_inbound import _altered, transfer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from pactnet.audit.chain import Entry
    from pactnet.crypto.tls import PartnerTls

PARTIES = ["ROK", "JPN", "USA"]
GSOMIA = "JPN-ROK-GSOMIA-2016"
JULY = datetime(2019, 7, 25, 6, 0, tzinfo=UTC)
EVE = datetime.fromisoformat("2019-11-22T23:00:00+09:00")
AFTER_THE_END = datetime.fromisoformat("2019-11-23T06:00:00+09:00")
FAST_RETRIES = {"retry_first_ms": 50, "retry_longest_ms": 500}
BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
WAIT = 20.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class Served:
    """A node's API served by uvicorn on a given loopback port, in a thread; stopping it closes the node."""

    def __init__(self, node: Node, port: int) -> None:
        settings = server_settings(node.config.request_timeout_ms)
        config = uvicorn.Config(create_app(node), host="127.0.0.1", port=port, **settings)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), "the node's API to start", 10)
        assert self.server.started, "the node's API did not start"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Site:
    """One party's node in this process: its folder (made by create_cluster), and while up its API and dispatcher."""

    member: ClusterNode
    clock: Clock
    node: Node | None = None
    server: Served | None = None
    dispatcher: Dispatcher | None = None
    http: httpx.Client | None = None

    @property
    def party(self) -> str:
        return self.member.party

    def up(self) -> None:
        self.node = open_node(self.member.folder, self.clock)
        self.server = Served(self.node, self.member.port)
        self.dispatcher = Dispatcher(self.node)
        self.http = httpx.Client(base_url=self.member.url, headers=self.member.headers, timeout=30)

    def down(self) -> None:
        """Stop the API (which closes the node): the partner is unreachable until `up` again."""
        if self.http is not None:
            self.http.close()
        if self.dispatcher is not None:
            self.dispatcher.client.close()
        if self.server is not None:
            self.server.stop()
        self.node = self.server = self.dispatcher = self.http = None

    @property
    def opened(self) -> Node:
        assert self.node is not None, f"{self.party}'s node is down"
        return self.node

    @property
    def api(self) -> httpx.Client:
        assert self.http is not None, f"{self.party}'s node is down"
        return self.http

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.api.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def publish(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "Launch from Wonsan", "level": "군사II급비밀", "categories": ["dprk-missile"]} | fields
        result: dict[str, Any] = self.post("/api/v1/reports", body)
        return result

    def deliveries(self, report_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(f"/api/v1/reports/{report_id}/deliveries")
        return found

    def audit_entries(self) -> list[Entry]:
        with self.opened.uow.reader.connect() as connection:
            return list(read_entries(connection))

    def audit_of(self, kind: str) -> list[Entry]:
        return [entry for entry in self.audit_entries() if entry.kind == kind]

    def received(self, originator: str, origin_id: str) -> list[Any]:
        """The rows of reports stored here for one item of `originator`."""
        query = select(reports).where(reports.c.originator == originator, reports.c.origin_id == origin_id)
        with self.opened.uow.reader.connect() as connection:
            return list(connection.execute(query).all())

    def pending(self) -> int:
        with self.opened.uow.reader.connect() as connection:
            count = connection.execute(select(func.count()).select_from(outbox).where(outbox.c.state == PENDING))
            return int(count.scalar_one())

    def verified(self) -> bool:
        """The audit log verifies, as the API reports it and as the service checks it."""
        page = self.get("/api/v1/audit", limit=1)
        return bool(page["verification"]["intact"]) and audit.verify(self.opened).intact


@dataclass
class Federation:
    """The sites of a cluster, sharing one hand-moved clock."""

    sites: dict[str, Site]
    clock: Clock

    def __getitem__(self, party: str) -> Site:
        return self.sites[party]

    def close(self) -> None:
        for site in self.sites.values():
            site.down()

    def round(self) -> int:
        """One `run_once` of every running dispatcher; the rows they handled."""
        return sum(site.dispatcher.run_once() for site in self.sites.values() if site.dispatcher is not None)

    def dispatch(self, limit: int = 50) -> None:
        """Run the dispatchers until a round has nothing to send now (due rows of reachable partners)."""
        for _ in range(limit):
            if self.round() == 0:
                return
        pytest.fail(f"the dispatchers were still busy after {limit} rounds")

    def dispatch_until(self, condition: Callable[[], bool], what: str) -> None:
        """Run the dispatchers, letting time pass (a second a round), until `condition` holds."""
        deadline = time.monotonic() + WAIT
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out dispatching until {what}")
            if self.round() == 0:
                time.sleep(0.05)  # backoff from a partner is kept in monotonic time
                self.clock.advance(seconds=1)


class Make(Protocol):
    """The `federation` fixture: nodes of `parties` created on `world`, all up at `at` but those `down`."""

    def __call__(
        self,
        world: str,
        at: datetime,
        parties: list[str] | None = None,
        down: tuple[str, ...] = (),
        settings: dict[str, Any] | None = None,
    ) -> Federation: ...


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind of every node: SQLite unless a test is parametrised with BOTH."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def federation(tmp_path: Path, backend: str) -> Iterator[Make]:
    """Makes a federation: `federation(world, at, parties=..., down=(...), settings={...})`, nodes up but `down`."""
    with ExitStack() as stack:

        def make(
            world: str,
            at: datetime,
            parties: list[str] | None = None,
            down: tuple[str, ...] = (),
            settings: dict[str, Any] | None = None,
        ) -> Federation:
            codes = parties or PARTIES
            databases = None
            if backend == "postgresql":
                databases = {code: stack.enter_context(fresh_postgres_database("pactnet_fed")) for code in codes}
            members = create_cluster(tmp_path / world, world, codes, databases, FAST_RETRIES | (settings or {}))
            clock = Clock(at)
            made = Federation({code: Site(members[code], clock) for code in codes}, clock)
            stack.callback(made.close)
            for code in codes:
                if code not in down:
                    made[code].up()
            return made

        yield make


def _codes(reasons: list[dict[str, str]]) -> set[str]:
    return {reason["code"] for reason in reasons}


def _decision_for(result: dict[str, Any], party: str) -> dict[str, Any]:
    found: dict[str, Any] = next(one for one in result["decisions"] if one["to"] == party)
    return found


# 1. Direct delivery ---------------------------------------------------------------------------------------------


@BOTH
def test_a_flash_report_is_delivered_directly_and_stored_in_each_receivers_marking(federation: Make) -> None:
    fed = federation("gsomia-2019", JULY)
    rok, jpn, usa = fed["ROK"], fed["JPN"], fed["USA"]
    published = rok.publish(precedence="flash", body="launch at 05:59, 2 missiles")
    assert _decision_for(published, "JPN")["route"] == ["ROK", "JPN"]
    assert [row["state"] for row in rok.deliveries(published["id"])] == ["pending", "pending"]

    fed.dispatch()

    sent = {row["to"]: row for row in rok.deliveries(published["id"])}
    assert set(sent) == {"JPN", "USA"}
    for party, level in (("JPN", "極秘"), ("USA", "SECRET")):
        row = sent[party]
        assert (row["state"], row["level"], row["attempts"], row["route"]) == ("delivered", level, 1, ["ROK", party])
        [stored] = fed[party].received("ROK", published["id"])
        assert row["stored_as"] == stored.id
        shown = fed[party].get(f"/api/v1/reports/{stored.id}")
        assert (shown["originator"], shown["received_from"], shown["level"]) == ("ROK", "ROK", level)
        assert (shown["precedence"], shown["body"]) == ("flash", "launch at 05:59, 2 missiles")
    assert sent["JPN"]["under"] == GSOMIA

    delivered = {entry.actor: entry.data for entry in rok.audit_of("delivered")}
    assert delivered["JPN"]["stored_as"] == sent["JPN"]["stored_as"]
    assert delivered["JPN"]["level"] == "極秘"
    for receiver in (jpn, usa):
        [entry] = receiver.audit_of("receive")
        assert (entry.actor, entry.data["origin_id"], entry.data["duplicate"]) == ("ROK", published["id"], False)
    assert rok.verified()
    assert jpn.verified()
    assert usa.verified()


@BOTH
def test_a_transfer_is_queued_without_the_body_it_is_sent_with(federation: Make) -> None:
    """The body is written once, with the report; a row written with its own (by an older node) keeps it."""
    fed = federation("gsomia-2019", JULY)
    rok, jpn = fed["ROK"], fed["JPN"]
    published = rok.publish(body="two missiles, 05:59", recipients=["JPN"])
    older = rok.publish(body="one missile, 07:10", recipients=["JPN"])
    with rok.opened.uow.engine.begin() as connection:
        rows = {row.report_id: row for row in connection.execute(select(outbox).where(outbox.c.kind == "transfer"))}
        assert "body" not in rows[published["id"]].payload["report"]
        written_whole = rows[older["id"]].payload
        written_whole["report"]["body"] = "one missile, 07:10 (as the row says)"
        connection.execute(outbox.update().where(outbox.c.seq == rows[older["id"]].seq).values(payload=written_whole))

    fed.dispatch()

    [stored] = jpn.received("ROK", published["id"])
    assert stored.body == "two missiles, 05:59"
    [stored] = jpn.received("ROK", older["id"])
    assert stored.body == "one missile, 07:10 (as the row says)"
    assert [row["state"] for row in rok.deliveries(published["id"])] == ["delivered"]


def test_reports_as_large_as_the_node_allows_are_delivered_in_as_many_requests_as_it_takes(federation: Make) -> None:
    """An envelope is larger than the report it carries (encrypted, base64): a batch of large reports is split."""
    limit = 8192
    fed = federation("gsomia-2019", JULY, parties=["ROK", "JPN"], settings={"max_body_bytes": limit})
    rok, jpn = fed["ROK"], fed["JPN"]
    body = "x" * (limit - 1024)  # the largest a publish request of this size lets through, near enough
    published = [rok.publish(title=f"Track {n}", recipients=["JPN"], body=body)["id"] for n in range(5)]
    fed.dispatch()
    for report_id in published:
        assert [row["state"] for row in rok.deliveries(report_id)] == ["delivered"]
        assert len(jpn.received("ROK", report_id)) == 1


# 2. Relay through the hub ---------------------------------------------------------------------------------------


def test_after_the_pact_ends_a_missile_report_reaches_jpn_via_usa_only_with_relay_consent(federation: Make) -> None:
    fed = federation("gsomia-2019-no-suspension", AFTER_THE_END)
    rok, jpn, usa = fed["ROK"], fed["JPN"], fed["USA"]
    missile = rok.publish(body="launch at 05:59")
    navy = rok.publish(title="PLA Navy transit", categories=["pla-navy"])
    refused = _decision_for(missile, "JPN")
    assert refused["allowed"] is False
    assert {"agreement-not-in-force", "no-relay-consent"} <= _codes(refused["reasons"])

    fed.dispatch()
    assert jpn.received("ROK", missile["id"]) == []
    assert [row["to"] for row in rok.deliveries(missile["id"])] == ["USA"]

    statement = rok.post(f"/api/v1/reports/{missile['id']}/consents", {"arrangement": "TISA-2014"})
    assert (statement["by"], statement["arrangement"], statement["report"]) == ("ROK", "TISA-2014", missile["id"])
    rok.post(f"/api/v1/reports/{navy['id']}/consents", {"arrangement": "TISA-2014"})
    fed.dispatch()

    # At ROK: the new decision routes via USA, and the leg to USA (for JPN) was receipted.
    trail = rok.get("/api/v1/decisions", report=missile["id"])
    assert [(one["to"], one["allowed"]) for one in trail if one["to"] == "JPN"] == [("JPN", False), ("JPN", True)]
    assert trail[-1]["route"] == ["ROK", "USA", "JPN"]
    relayed = next(row for row in rok.deliveries(missile["id"]) if row["final"] == "JPN")
    assert (relayed["to"], relayed["state"], relayed["under"]) == ("USA", "delivered", "USA-ROK-GSOMIA-1987")
    # At USA: held once as SECRET, passed on to JPN.
    [held] = usa.received("ROK", missile["id"])
    assert (held.level, held.received_from, held.id) == ("SECRET", "ROK", relayed["stored_as"])
    [onward] = usa.deliveries(held.id)
    assert (onward["to"], onward["final"], onward["state"]) == ("JPN", "JPN", "delivered")
    assert (onward["route"], onward["under"], onward["level"]) == (["ROK", "USA", "JPN"], "USA-JPN-GSOMIA-2007", "極秘")
    [relay] = usa.audit_of("relay")
    assert (relay.subject, relay.data["to"]) == (held.id, "JPN")
    usa_trail = usa.get("/api/v1/decisions", report=held.id)
    assert [(one["holder"], one["to"], one["route"]) for one in usa_trail] == [
        ("ROK", "USA", ["ROK", "USA"]),
        ("ROK", "JPN", ["ROK", "USA", "JPN"]),
    ]
    # At JPN: received from USA, marked 極秘 as ROK's item, the route recorded in its decision.
    [stored] = jpn.received("ROK", missile["id"])
    assert (stored.received_from, stored.level, stored.originator) == ("USA", "極秘", "ROK")
    assert stored.id == onward["stored_as"]
    [decided] = jpn.get("/api/v1/decisions", report=stored.id)
    assert (decided["holder"], decided["to"], decided["route"]) == ("ROK", "JPN", ["ROK", "USA", "JPN"])
    [received] = jpn.audit_of("receive")
    assert received.data["route"] == ["ROK", "USA", "JPN"]
    assert received.actor == "USA"
    # ROK's consent travelled with the item and was checked and kept at each node on the way.
    for site in (usa, jpn):
        with site.opened.uow.reader.connect() as connection:
            kept = list(connection.execute(select(consents.c.id, consents.c.originator)).all())
        assert [tuple(row) for row in kept] == [(statement["id"], "ROK")]

    # The PLA Navy report: out of TISA's scope, so even ROK's consent does not carry it to JPN.
    assert jpn.received("ROK", navy["id"]) == []
    navy_trail = [one for one in rok.get("/api/v1/decisions", report=navy["id"]) if one["to"] == "JPN"]
    assert navy_trail
    assert not any(one["allowed"] for one in navy_trail)
    assert {"agreement-not-in-force", "out-of-arrangement-scope"} <= _codes(navy_trail[-1]["reasons"])
    assert all(row["final"] != "JPN" for row in rok.deliveries(navy["id"]))
    assert rok.verified()
    assert usa.verified()
    assert jpn.verified()


# 3. Lifecycle acts travel ----------------------------------------------------------------------------------------


def test_a_notice_recorded_at_rok_reaches_its_partners_and_all_show_the_same_status(federation: Make) -> None:
    fed = federation("gsomia-2019", datetime.fromisoformat("2024-01-10T10:00:00+09:00"))
    rok = fed["ROK"]
    before = fed["JPN"].get(f"/api/v1/agreements/{GSOMIA}")["status"]
    answer = rok.post(f"/api/v1/agreements/{GSOMIA}/events", {"type": "notify_termination"})
    assert answer["status"] != before
    assert answer["status"]["notice"] != "none"
    assert answer["status"]["ends_at"] == "2024-11-23T00:00:00+09:00"

    fed.dispatch()

    at_rok = rok.get(f"/api/v1/agreements/{GSOMIA}")
    assert at_rok["status"] == answer["status"]
    # Both JPN (a party) and USA (the hub, which must route as the parties would) compute the same status.
    for party in ("JPN", "USA"):
        shown = fed[party].get(f"/api/v1/agreements/{GSOMIA}")
        assert (shown["status"], shown["timeline"]) == (at_rok["status"], at_rok["timeline"]), party
        [recorded] = fed[party].audit_of("lifecycle")
        assert (recorded.actor, recorded.subject, recorded.data["type"]) == ("ROK", GSOMIA, "notify_termination")
        assert fed[party].verified()
    assert sorted(entry.actor for entry in rok.audit_of("delivered")) == ["JPN", "USA"]
    assert rok.verified()


# 4. The agreement ends while a transfer waits --------------------------------------------------------------------


@BOTH
def test_a_transfer_waiting_for_jpn_when_the_pact_ends_is_cancelled_or_rerouted(federation: Make) -> None:
    fed = federation("gsomia-2019-no-suspension", EVE, down=("JPN",))
    rok, jpn, usa = fed["ROK"], fed["JPN"], fed["USA"]
    navy = rok.publish(title="PLA Navy transit", categories=["pla-navy"])
    missile = rok.publish(body="launch at 22:40")
    assert _decision_for(navy, "JPN")["route"] == ["ROK", "JPN"]
    rok.post(f"/api/v1/reports/{missile['id']}/consents", {"arrangement": "TISA-2014"})

    fed.dispatch()  # USA takes both; JPN is down
    for report in (navy, missile):
        waiting = next(row for row in rok.deliveries(report["id"]) if row["to"] == "JPN")
        assert (waiting["state"], waiting["attempts"]) == ("pending", 1)
        assert waiting["last_error"]

    fed.clock.at = datetime.fromisoformat("2019-11-23T00:30:00+09:00")
    jpn.up()
    fed.dispatch_until(lambda: rok.pending() == 0 and usa.pending() == 0, "ROK and USA have sent everything")

    [cancelled] = [row for row in rok.deliveries(navy["id"]) if row["to"] == "JPN"]
    assert cancelled["state"] == "cancelled"
    assert cancelled["stored_as"] is None
    assert "agreement-not-in-force" in _codes(cancelled["reasons"])
    assert jpn.received("ROK", navy["id"]) == []
    entry = next(entry for entry in rok.audit_of("cancelled") if entry.subject == navy["id"])
    assert "agreement-not-in-force" in _codes(entry.data["reasons"])

    rows = rok.deliveries(missile["id"])
    direct = next(row for row in rows if row["to"] == "JPN")
    assert (direct["state"], _codes(direct["reasons"])) == ("cancelled", {"route-changed"})
    via = next(row for row in rows if row["to"] == "USA" and row["final"] == "JPN")
    assert via["state"] == "delivered"
    [stored] = jpn.received("ROK", missile["id"])
    assert (stored.received_from, stored.level) == ("USA", "極秘")
    assert rok.verified()
    assert usa.verified()
    assert jpn.verified()


# 5. Partner down, then back (real node processes) ----------------------------------------------------------------


def _engine(member: ClusterNode) -> Engine:
    return database.create(f"sqlite:///{member.folder / 'node.db'}")


def test_reports_published_while_jpn_is_down_arrive_once_each_when_it_returns(tmp_path: Path) -> None:
    # SQLite only: the dispatcher's PostgreSQL path is exercised by the tests of concurrent dispatchers below.
    count = 50
    with ExitStack() as stack:
        members = create_cluster(tmp_path / "cluster", "gsomia-2019", ["ROK", "JPN"], None, FAST_RETRIES)
        rok, jpn = members["ROK"], members["JPN"]
        clock_file = tmp_path / "scenario.json"
        set_scenario(clock_file, JULY)
        stack.callback(jpn.kill)
        stack.callback(rok.kill)
        rok.start(clock_file)
        rok_db, jpn_db = _engine(rok), _engine(jpn)
        stack.callback(rok_db.dispose)
        stack.callback(jpn_db.dispose)

        batch = [
            {"title": f"Track {n}", "level": "군사II급비밀", "categories": ["dprk-missile"], "recipients": ["JPN"]}
            for n in range(count)
        ]
        response = httpx.post(f"{rok.url}/api/v1/reports/batch", json={"reports": batch}, headers=rok.headers)
        assert response.status_code == 201, response.text
        published = {result["id"] for result in response.json()["results"]}

        def rows() -> list[Any]:
            with rok_db.connect() as connection:
                return list(connection.execute(select(outbox)).all())

        wait_for(lambda: all(row.attempts >= 2 for row in rows()), "ROK to retry every transfer twice")
        assert len(rows()) == count
        assert all(row.state == "pending" and row.last_error for row in rows())

        jpn.start(clock_file)
        wait_for(lambda: all(row.state == "delivered" for row in rows()), "every transfer to be delivered")

        with jpn_db.connect() as connection:
            stored = Counter(connection.execute(select(reports.c.origin_id)).scalars())
            kinds = Counter(entry.kind for entry in read_entries(connection))
        assert set(stored) == published
        assert set(stored.values()) == {1}
        assert kinds["receive"] == count
        assert kinds["replayed-envelope"] == 0
        final = rows()
        assert all(row.attempts >= 3 for row in final)
        assert {row.outcome["stored_as"] for row in final} == set(_stored_ids(jpn_db))
        jpn.stop()
        rok.stop()
        for member in (rok, jpn):
            verified = open_node(member.folder)
            try:
                assert audit.verify(verified).intact
            finally:
                verified.close()


def _stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(reports.c.id)).scalars())


class LosingClient(PartnerClient):
    """Posts, then loses the answer (a timeout after the partner committed, or a crash before settling)."""

    def post(
        self, url: str, envelopes: list[dict[str, Any]], *, urgent: bool = False, tls: PartnerTls | None = None
    ) -> list[dict[str, Any]]:
        super().post(url, envelopes, urgent=urgent, tls=tls)
        raise PartnerUnreachableError(f"{url}: the answer was lost")


@pytest.mark.parametrize("later", [timedelta(seconds=5), timedelta(minutes=10)])
def test_a_lost_receipt_is_recovered_by_sending_the_same_envelope_again(federation: Make, later: timedelta) -> None:
    fed = federation("gsomia-2019", JULY, parties=["ROK", "JPN"])
    rok, jpn = fed["ROK"], fed["JPN"]
    report = rok.publish(recipients=["JPN"])
    losing = Dispatcher(rok.opened, client=LosingClient())
    try:
        assert losing.run_once() == 1
    finally:
        losing.client.close()
    [row] = rok.deliveries(report["id"])
    assert (row["state"], row["attempts"]) == ("pending", 1)
    [stored] = jpn.received("ROK", report["id"])

    fed.clock.advance(seconds=later.total_seconds())  # the answer JPN kept is older than an envelope may be
    fed.dispatch()

    [row] = rok.deliveries(report["id"])
    assert (row["state"], row["attempts"], row["stored_as"]) == ("delivered", 2, stored.id)
    assert len(jpn.received("ROK", report["id"])) == 1
    assert len(jpn.audit_of("replayed-envelope")) == 1
    assert rok.verified()


# 6. Precedence ---------------------------------------------------------------------------------------------------


def test_a_flash_report_queued_after_routine_ones_is_sent_first(federation: Make) -> None:
    fed = federation("gsomia-2019", JULY, settings={"dispatch_batch": 2})
    rok, jpn = fed["ROK"], fed["JPN"]
    routine = [rok.publish(title=f"Routine {n}", recipients=["JPN"])["id"] for n in range(4)]
    flash = rok.publish(title="Launch", precedence="flash", recipients=["JPN"])["id"]
    dispatcher = rok.dispatcher
    assert dispatcher is not None

    # The urgent lane takes only flash and immediate traffic.
    assert dispatcher.run_once(urgent=True) == 1
    assert rok.deliveries(flash)[0]["state"] == "delivered"
    assert all(rok.deliveries(one)[0]["state"] == "pending" for one in routine)
    assert dispatcher.run_once(urgent=True) == 0

    # The other lane takes by precedence, then oldest first: an immediate report goes before older routine ones.
    immediate = rok.publish(title="Follow-up", precedence="immediate", recipients=["JPN"])["id"]
    assert dispatcher.run_once() == 2
    assert rok.deliveries(immediate)[0]["state"] == "delivered"
    assert [rok.deliveries(one)[0]["state"] for one in routine] == ["delivered", "pending", "pending", "pending"]
    fed.dispatch()
    order = [entry.data["origin_id"] for entry in jpn.audit_of("receive")]
    assert order == [flash, immediate, *routine]


# 7. Several dispatchers on one outbox ----------------------------------------------------------------------------


@BOTH
def test_concurrent_dispatchers_never_send_a_row_twice(federation: Make, backend: str) -> None:
    fed = federation("gsomia-2019", JULY, settings={"dispatch_batch": 3})
    rok, jpn, usa = fed["ROK"], fed["JPN"], fed["USA"]
    count = 30
    batch = [
        {"title": f"Track {n}", "level": "군사II급비밀", "categories": ["dprk-missile"], "precedence": precedence}
        for n, precedence in enumerate(["flash", "routine"] * (count // 2))
    ]
    rok.post("/api/v1/reports/batch", {"reports": batch})
    rows = 2 * count
    assert rok.pending() == rows

    # PostgreSQL: two node processes' worth of dispatchers (two opened nodes on the same database), two lanes
    # each; SQLite runs one dispatcher per node, whose two lanes must not take the same row either.
    nodes = [rok.opened]
    if backend == "postgresql":
        nodes.append(open_node(rok.member.folder, fed.clock))
    dispatchers = [Dispatcher(node) for node in nodes]
    try:
        for dispatcher in dispatchers:
            dispatcher.start()
        wait_for(lambda: rok.pending() == 0, "every row to be settled")
    finally:
        for dispatcher in dispatchers:
            dispatcher.stop()
        for node in nodes[1:]:
            node.close()

    with rok.opened.uow.reader.connect() as connection:
        settled = connection.execute(select(outbox.c.state, outbox.c.attempts)).all()
    assert Counter(settled) == {("delivered", 1): rows}
    assert len(rok.audit_of("delivered")) == rows
    for receiver in (jpn, usa):
        with receiver.opened.uow.reader.connect() as connection:
            answered = list(connection.execute(select(envelopes.c.id, envelopes.c.outcome)).all())
        assert len(answered) == count
        assert {outcome for _, outcome in answered} == {"accepted"}
        received = receiver.audit_of("receive")
        assert len(received) == count
        assert len({entry.data["envelope"] for entry in received}) == count
        assert receiver.audit_of("replayed-envelope") == []
        assert receiver.verified()
    assert rok.verified()


class HeldClient(PartnerClient):
    """Posts as a dispatcher does, but holds its first batch until `release` is set: a batch on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = threading.Event()
        self.release = threading.Event()
        self._first = threading.Lock()

    def post(
        self, url: str, envelopes: list[dict[str, Any]], *, urgent: bool = False, tls: PartnerTls | None = None
    ) -> list[dict[str, Any]]:
        if self._first.acquire(blocking=False):
            self.sending.set()
            assert self.release.wait(WAIT)
        return super().post(url, envelopes, urgent=urgent, tls=tls)


@BOTH
def test_rows_on_the_wire_are_not_taken_by_another_round(federation: Make, backend: str) -> None:
    fed = federation("gsomia-2019", JULY, settings={"dispatch_batch": 2})
    rok, jpn = fed["ROK"], fed["JPN"]
    published = [rok.publish(title=f"Track {n}", recipients=["JPN"])["id"] for n in range(4)]
    held = HeldClient()
    # PostgreSQL: another dispatcher on the same database (rows locked FOR UPDATE SKIP LOCKED until settled);
    # SQLite: the other lane of the same dispatcher (rows in flight are skipped).
    other = open_node(rok.member.folder, fed.clock) if backend == "postgresql" else None
    first = Dispatcher(rok.opened, client=held)
    second = Dispatcher(other) if other is not None else first
    try:
        on_the_wire = threading.Thread(target=first.run_once)
        on_the_wire.start()
        assert held.sending.wait(WAIT)
        meanwhile = threading.Thread(target=second.run_once, kwargs={"urgent": False})
        meanwhile.start()
        meanwhile.join(WAIT / 2)
        blocked = meanwhile.is_alive()
        states = [rok.deliveries(one)[0]["state"] for one in published]
        held.release.set()
        on_the_wire.join(WAIT)
        meanwhile.join(WAIT)
    finally:
        held.release.set()
        held.close()
        if other is not None:
            second.client.close()
            other.close()
    assert not blocked, "the second round waited for the rows on the wire instead of skipping them"
    assert states == ["pending", "pending", "delivered", "delivered"]
    assert [rok.deliveries(one)[0]["state"] for one in published] == ["delivered"] * 4
    assert sorted(entry.data["origin_id"] for entry in jpn.audit_of("receive")) == sorted(published)
    assert jpn.audit_of("replayed-envelope") == []
    assert len(rok.audit_of("delivered")) == 4
    assert rok.verified()
    assert jpn.verified()


# 8. The batch endpoint -------------------------------------------------------------------------------------------


class TestBatchEndpoint:
    """`POST /federation/v1/envelopes/batch`: one answer per envelope, in order; one envelope's refusal is its own."""

    @pytest.fixture
    def pair(self, federation: Make) -> Federation:
        """ROK and JPN only: USA is a party of the world that JPN does not trust."""
        return federation("gsomia-2019", JULY, parties=["ROK", "JPN"])

    def _seal(self, fed: Federation, payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "keys": fed["ROK"].opened.keys,
            "sender": "ROK",
            "recipient": "JPN",
            "recipient_encryption_key": fed["JPN"].opened.keys.public_encryption,
            "kind": "transfer",
            "payload": payload,
            "sent_at": fed.clock.at,
        } | overrides
        return seal(**arguments)

    def _open(self, fed: Federation, answer: dict[str, Any]) -> dict[str, Any]:
        rok, jpn = fed["ROK"].opened, fed["JPN"].opened
        opened = open_envelope(rok.keys, "ROK", answer, jpn.keys.public_signing, fed.clock.at)
        return {"kind": opened.kind} | opened.payload

    def _post(self, fed: Federation, body: object) -> httpx.Response:
        return httpx.post(f"{fed['JPN'].member.url}/federation/v1/envelopes/batch", json=body, timeout=30)

    def test_accepted_and_refused_envelopes_are_answered_in_order(self, pair: Federation) -> None:
        jpn = pair["JPN"]
        accepted = self._seal(pair, transfer())
        batch = [
            accepted,
            self._seal(pair, transfer(), keys=NodeKeys.generate()),
            self._seal(pair, transfer(), sender="USA"),
            self._seal(pair, transfer("군사I급비밀", ("pla-navy",))),
            _altered(self._seal(pair, transfer())),
            self._seal(pair, transfer(), sent_at=pair.clock.at - timedelta(minutes=6)),
            self._seal(pair, transfer(), recipient="USA"),
            accepted,
        ]
        response = self._post(pair, {"envelopes": batch})
        assert response.status_code == 200, response.text
        answers = response.json()["answers"]
        assert len(answers) == len(batch)

        receipt = self._open(pair, answers[0]["envelope"])
        assert (receipt["kind"], receipt["envelope"]) == ("receipt", accepted["id"])
        errors = [answers[i]["error"] for i in (1, 2, 4, 5, 6)]
        assert [(one["status"], one["code"]) for one in errors] == [
            (403, "unauthenticated"),  # a forged signature and an unknown sender are one answer outwardly
            (403, "unauthenticated"),
            (403, "unauthenticated"),
            (409, "stale"),
            (403, "wrong-recipient"),
        ]
        assert all(one["message"] for one in errors)
        refusal = self._open(pair, answers[3]["envelope"])
        assert (refusal["kind"], refusal["envelope"]) == ("refusal", batch[3]["id"])
        assert "no-equivalent-level" in _codes(refusal["reasons"])
        assert answers[7] == answers[0]  # the same envelope again: the same signed receipt

        with jpn.opened.uow.reader.connect() as connection:
            recorded = set(connection.execute(select(envelopes.c.id)).scalars())
        assert recorded == {accepted["id"], batch[3]["id"]}
        assert len(jpn.received("ROK", _transfer_id(accepted, pair))) == 1
        kinds = Counter(entry.kind for entry in jpn.audit_entries())
        assert (kinds["receive"], kinds["replayed-envelope"], kinds["refused-envelope"]) == (1, 1, 6)
        unopened = [entry.data["code"] for entry in jpn.audit_entries() if "code" in entry.data]
        # The audit log tells them apart.
        assert unopened == ["bad-signature", "unknown-sender", "bad-signature", "stale", "wrong-recipient"]
        assert jpn.verified()

    def test_a_batch_over_the_body_limit_is_refused_whole(self, pair: Federation) -> None:
        limit = pair["JPN"].opened.config.max_body_bytes
        large = transfer()
        large["report"]["body"] = "x" * (limit // 2)  # each envelope under a partner's limit, the batch over it
        batch = [self._seal(pair, large) for _ in range(8)]
        assert sum(envelope_size(one) for one in batch) > request_limit(limit)
        response = self._post(pair, {"envelopes": batch})
        assert response.status_code == 413
        assert response.json()["error"]["status"] == 413
        assert pair["JPN"].received("ROK", batch[0]["id"]) == []
        with pair["JPN"].opened.uow.reader.connect() as connection:
            assert connection.execute(select(func.count()).select_from(envelopes)).scalar_one() == 0

    def test_an_empty_or_oversized_batch_is_invalid(self, pair: Federation) -> None:
        assert self._post(pair, {"envelopes": []}).status_code == 422
        envelope = self._seal(pair, transfer())
        assert self._post(pair, {"envelopes": [envelope] * 257}).status_code == 422

    def test_a_partner_that_refuses_every_envelope_is_retried_with_its_error_recorded(self, pair: Federation) -> None:
        rok, jpn = pair["ROK"], pair["JPN"]
        (jpn.member.folder / "partners.toml").unlink()  # JPN forgets ROK: every envelope is an unknown sender
        report = rok.publish(recipients=["JPN"])
        pair.dispatch()
        [row] = rok.deliveries(report["id"])
        assert (row["state"], row["attempts"]) == ("pending", 1)
        assert "unauthenticated" in row["last_error"]
        assert jpn.received("ROK", report["id"]) == []

    def test_a_batch_of_refused_envelopes_counts_as_one_failure_of_the_partner(self, pair: Federation) -> None:
        rok, jpn = pair["ROK"], pair["JPN"]
        (jpn.member.folder / "partners.toml").unlink()
        for _ in range(8):
            rok.publish(recipients=["JPN"])
        pair.dispatch()
        with rok.opened.uow.reader.connect() as connection:
            rows = connection.execute(select(outbox.c.attempts, outbox.c.next_at)).all()
        assert [row.attempts for row in rows] == [1] * 8
        # One failure: every row waits at most the first delay (50 ms), not a delay doubled once per row.
        latest = max(parse_instant_text(row.next_at) for row in rows)
        assert latest - pair.clock.at <= timedelta(milliseconds=FAST_RETRIES["retry_first_ms"])


def _transfer_id(envelope: dict[str, Any], fed: Federation) -> str:
    """The report id inside an envelope ROK sealed to JPN."""
    jpn, rok = fed["JPN"].opened, fed["ROK"].opened
    opened = open_envelope(jpn.keys, "JPN", envelope, rok.keys.public_signing, fed.clock.at)
    return str(opened.payload["report"]["id"])
