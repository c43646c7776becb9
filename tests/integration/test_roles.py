"""Roles and duties over the real API: deny by default, 403 naming the role, the audit log redacted by clearance."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from pactnet.api.app import create_app
from pactnet.api.auth import DutyCheck
from pactnet.audit.chain import GENESIS, entry_hash
from pactnet.services.roles import DUTIES, Duty, Role, roles_with
from pactnet.services.users import add_user
from pactnet.store import database
from pactnet.taxii.auth import TaxiiDutyCheck
from pactnet.web.guard import PageDuty

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.dependencies.models import Dependant
    from httpx import Client

    from pactnet.node import Node
    from tests.integration.conftest import Clock

GSOMIA = "JPN-ROK-GSOMIA-2016"
# After every act of the bundled world's story, so that a new notice is this party's to give.
AFTER_THE_STORY = datetime(2024, 8, 1, tzinfo=UTC)
SECRET_REPORT: dict[str, Any] = {
    "title": "PLA Navy movements, East China Sea",
    "level": "군사II급비밀",
    "categories": ["pla-navy"],
    "compartments": ["sigint"],
    "precedence": "routine",
    "body": "a destroyer group heading north",
    "recipients": ["USA"],
}
NODE_DOC = FilePath(__file__).parents[2] / "docs" / "node.md"


def _headers(node: Node, name: str, clearance: str, *roles: str, compartments: tuple[str, ...] = ()) -> dict[str, str]:
    _, token = add_user(node, name, clearance, list(compartments), roles=roles)
    return {"Authorization": f"Bearer {token}"}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for inner in dependant.dependencies:
        yield from _dependants(inner)


def _duty(route: APIRoute) -> Duty | None:
    """The duty a route's dependencies check, if any."""
    for dependant in _dependants(route.dependant):
        if isinstance(dependant.call, DutyCheck | TaxiiDutyCheck | PageDuty):
            return dependant.call.duty
    return None


def _routes(node: Node) -> list[tuple[str, str, Duty | None]]:
    found: list[tuple[str, str, Duty | None]] = []
    for route in create_app(node).routes:
        if isinstance(route, APIRoute):
            found.extend((method, route.path, _duty(route)) for method in sorted(route.methods or ()))
    return found


def _documented_routes() -> dict[tuple[str, str], str]:
    """The table of docs/node.md's section on duties: `METHOD PATH` → the duty (or `none: ...`)."""
    section = NODE_DOC.read_text(encoding="utf-8").split("### Routes and the duty each needs", 1)[1]
    section = section.split("\n#", 1)[0]
    rows = re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \| ([^|]+?) \|", section, flags=re.MULTILINE)
    return {(method, path): duty.strip().strip("`") for method, path, duty in rows}


class TestDuties:
    """Every route checks the duty it needs; a refusal is a 403 in the one error shape naming the role."""

    def test_the_lowest_cleared_analyst_cannot_give_notice_of_termination(
        self, client: Client, node: Node, officer: dict[str, str], clock: Clock
    ) -> None:
        clock.at = AFTER_THE_STORY
        clerk = _headers(node, "clerk", "군사III급비밀", "analyst")
        refused = client.post(f"/api/v1/agreements/{GSOMIA}/events", json={"type": "notify_termination"}, headers=clerk)
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "forbidden"
        assert "officer" in error["message"]
        assert error["details"] == [{"code": "missing-duty", "duty": "record-act", "roles": ["officer"]}]
        state = client.get(f"/api/v1/agreements/{GSOMIA}", headers=officer).json()
        assert state["status"]["notice"] == "none"
        kinds = [entry["kind"] for entry in client.get("/api/v1/audit", headers=officer).json()["entries"]]
        assert "lifecycle" not in kinds

    def test_an_officer_gives_notice_and_an_auditor_alone_cannot_publish(
        self, client: Client, node: Node, clock: Clock
    ) -> None:
        clock.at = AFTER_THE_STORY
        officer = _headers(node, "park", "군사III급비밀", "officer")
        given = client.post(f"/api/v1/agreements/{GSOMIA}/events", json={"type": "notify_termination"}, headers=officer)
        assert given.status_code == 201, given.text
        auditor = _headers(node, "lee", "군사I급비밀", "auditor")
        refused = client.post("/api/v1/reports", json=SECRET_REPORT, headers=auditor)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"][0]["roles"] == ["analyst"]

    def test_every_route_refuses_a_user_whose_roles_lack_its_duty(self, client: Client, node: Node) -> None:
        checked = 0
        for method, path, duty in _routes(node):
            if duty is None or path.startswith("/ui/"):  # the console's pages: tests/web/test_console_access.py
                continue
            lacking = [role for role in Role if duty not in DUTIES[role]]
            if not lacking:  # a duty every role carries (seeing the agreements): only a token is needed
                continue
            headers = _headers(node, f"u{checked}", "군사I급비밀", lacking[0], compartments=("sigint",))
            response = client.request(method, re.sub(r"\{[^}]+\}", "x", path), headers=headers, json={})
            assert response.status_code == 403, (method, path, response.text)
            # The TAXII routes answer with TAXII's error resource, whose details hold the same problem.
            refusal = response.json()
            details = refusal["details"]["problems"] if path.startswith("/taxii2/") else refusal["error"]["details"]
            assert details[0]["roles"] == [role.value for role in roles_with(duty)]
            checked += 1
        assert checked >= 12  # the user routes that some role may not use

    def test_every_user_route_needs_a_duty(self, node: Node) -> None:
        unguarded = [(method, path) for method, path, duty in _routes(node) if duty is None]
        assert sorted(unguarded) == sorted(
            [
                ("GET", "/api/v1/health"),
                ("GET", "/taxii2/"),
                ("POST", "/federation/v1/audit/heads"),
                ("POST", "/federation/v1/envelopes"),
                ("POST", "/federation/v1/envelopes/batch"),
                # The console's sign-in form (a double-submit CSRF cookie), and sign-out (the session and its CSRF).
                ("GET", "/ui/sign-in"),
                ("POST", "/ui/sign-in"),
                ("POST", "/ui/sign-out"),
            ]
        )


class TestTheDocumentedTable:
    """docs/node.md lists every route with the duty it needs, exactly as the routes check it."""

    def test_the_table_matches_the_routes(self, node: Node) -> None:
        routes = {(method, path): ("none" if duty is None else duty.value) for method, path, duty in _routes(node)}
        documented = {
            key: ("none" if value.startswith("none") else value) for key, value in _documented_routes().items()
        }
        assert documented == routes


class TestRedactedAudit:
    """An auditor sees entries about items above its clearance redacted, and can still follow the chain."""

    def _publish_and_read(self, client: Client, officer: dict[str, str]) -> str:
        published = client.post("/api/v1/reports", json=SECRET_REPORT, headers=officer)
        assert published.status_code == 201, published.text
        report_id: str = published.json()["id"]
        assert client.get(f"/api/v1/reports/{report_id}", headers=officer).status_code == 200
        assert client.get("/api/v1/reports", headers=officer).status_code == 200
        return report_id

    @pytest.mark.parametrize(
        ("clearance", "compartments"),
        [("군사III급비밀", ("sigint",)), ("군사I급비밀", ())],
        ids=["level", "compartment"],
    )
    def test_an_uncleared_auditor_sees_kind_instant_and_hash_only(
        self, client: Client, node: Node, officer: dict[str, str], clearance: str, compartments: tuple[str, ...]
    ) -> None:
        report_id = self._publish_and_read(client, officer)
        auditor = _headers(node, "auditor", clearance, "auditor", compartments=compartments)
        page = client.get("/api/v1/audit", headers=auditor)
        assert page.status_code == 200, page.text
        entries = page.json()["entries"]
        assert report_id not in page.text
        assert SECRET_REPORT["title"] not in page.text
        redacted = [entry for entry in entries if entry["redacted"]]
        assert {entry["kind"] for entry in redacted} == {"publish", "decide", "read", "list"}
        assert all(entry["actor"] is None and entry["data"] is None for entry in redacted)
        assert {"node-created", "user-added"} <= {entry["kind"] for entry in entries if not entry["redacted"]}

    def test_the_chain_verifies_from_what_is_shown(self, client: Client, node: Node, officer: dict[str, str]) -> None:
        self._publish_and_read(client, officer)
        auditor = _headers(node, "auditor", "군사III급비밀", "auditor")
        entries = client.get("/api/v1/audit", params={"limit": 1000}, headers=auditor).json()["entries"]
        previous = GENESIS
        for entry in entries:
            assert entry["prev"] == previous
            if not entry["redacted"]:
                data = entry["data"]
                encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                fields = (entry["seq"], entry["at"], entry["kind"], entry["actor"], entry["subject"], encoded)
                assert entry_hash(*fields, entry["prev"]) == entry["hash"]
            previous = entry["hash"]
        assert any(entry["redacted"] for entry in entries)

    def test_a_cleared_auditor_sees_every_entry_whole(
        self, client: Client, node: Node, officer: dict[str, str]
    ) -> None:
        report_id = self._publish_and_read(client, officer)
        auditor = _headers(node, "auditor", "군사II급비밀", "auditor", compartments=("sigint",))
        page = client.get("/api/v1/audit", headers=auditor)
        assert not any(entry["redacted"] for entry in page.json()["entries"])
        assert report_id in page.text


class TestMigration:
    """Users stored before roles existed become analysts when the database is migrated."""

    def test_a_user_of_revision_0005_becomes_an_analyst(self, database_url: str) -> None:
        engine = database.create(database_url)
        try:
            database.migrate(engine, "0005")
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO users (name, clearance, compartments, token_hash, disabled, created_at) "
                        "VALUES ('old', '군사II급비밀', '[]', :hash, false, '2019-07-25T00:00:00.000000Z')"
                    ),
                    {"hash": "0" * 64},
                )
            database.migrate(engine)
            with engine.connect() as connection:
                roles = connection.execute(text("SELECT roles FROM users WHERE name = 'old'")).scalar_one()
        finally:
            engine.dispose()
        assert (roles if isinstance(roles, list) else json.loads(roles)) == ["analyst"]
