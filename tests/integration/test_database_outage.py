"""A database out of reach for a while: the API answers 503 in the one error shape, writes nothing, and recovers.

The node's PostgreSQL database (on the shared server, which is never stopped) is closed to connections and its
connections are terminated, as a restart does to them; then it is opened again. Before services.outage, such a
request was answered 500 with a stack trace in the log, and a write cut mid-transaction met a second error in
the world cache's rollback listener (`PendingRollbackError`) in place of the first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import psycopg
import pytest
from sqlalchemy import text

from pactnet.node import init_node, open_node
from pactnet.services import audit
from pactnet.services.users import add_user
from pactnet.services.world_cache import WorldCache
from pactnet.store import database
from pactnet.world import load_world
from tests.databases import ADMIN_URL, fresh_postgres_database
from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pactnet.node import Node
    from tests.integration.conftest import Clock

REPORT = {"title": "Launch", "level": "군사II급비밀", "categories": ["dprk-missile"], "body": "SRBM, Wonsan"}


def _open_to_connections(name: str, *, allowed: bool) -> None:
    """Let connections to database `name` in or not; when not, end those it has (as a restart would)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


@pytest.fixture
def postgres_node(tmp_path: Path, clock: Clock) -> Iterator[tuple[Node, str]]:
    """A ROK node on a fresh PostgreSQL database, and the database's name."""
    with fresh_postgres_database("pactnet_outage") as url:
        init_node(tmp_path / "rok", "gsomia-2019", "ROK", url)
        node = open_node(tmp_path / "rok", clock)
        try:
            yield node, url.rsplit("/", 1)[1]
        finally:
            node.close()
            _open_to_connections(url.rsplit("/", 1)[1], allowed=True)


class TestDatabaseOutage:
    """While the database cannot be reached, requests are refused cleanly; afterwards the node goes on."""

    def test_a_request_is_answered_503_and_nothing_is_written_until_the_database_is_back(
        self, postgres_node: tuple[Node, str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """503 with Retry-After and the error shape; one warning line in the log; 201 again once it is back."""
        node, name = postgres_node
        _, token = add_user(node, "officer", "군사II급비밀", [], roles=["analyst", "auditor"])
        with LoopbackServer(node) as url, httpx.Client(base_url=url, timeout=30) as http:
            http.headers["Authorization"] = f"Bearer {token}"
            assert http.post("/api/v1/reports", json=REPORT).status_code == httpx.codes.CREATED
            _open_to_connections(name, allowed=False)
            with caplog.at_level(logging.WARNING):
                refused = http.post("/api/v1/reports", json=REPORT | {"title": "Lost"})
            assert refused.status_code == httpx.codes.SERVICE_UNAVAILABLE, refused.text
            assert refused.headers["Retry-After"] == "1"
            error = refused.json()["error"]
            assert (error["status"], error["code"]) == (503, "unavailable")
            assert "cannot be reached" in error["message"]
            assert "nothing was written" in error["message"]
            assert "Traceback" not in caplog.text
            assert "database-unavailable" in caplog.text
            _open_to_connections(name, allowed=True)
            assert http.post("/api/v1/reports", json=REPORT | {"title": "After"}).status_code == httpx.codes.CREATED
            titles = [item["title"] for item in http.get("/api/v1/reports").json()["items"]]
            assert sorted(titles) == ["After", "Launch"]
        assert audit.verify(node).intact


class TestWorldCacheOnACutConnection:
    """The world cache's rollback listener copes with a connection the database cut."""

    def test_a_rollback_on_an_invalidated_connection_raises_the_first_error_and_marks_the_world_stale(
        self, database_url: str
    ) -> None:
        """The error that cut the connection is the one raised; the world is read again at the next refresh."""
        engine = database.create(database_url)
        cache = WorldCache({}, load_world("gsomia-2019"))
        cache.watch(engine)

        def cut_mid_transaction() -> None:
            with engine.begin() as connection:
                connection.execute(text("SELECT 1"))
                connection.invalidate()
                raise RuntimeError("cut")

        try:
            with pytest.raises(RuntimeError, match="cut"):
                cut_mid_transaction()
            assert cache._stale  # noqa: SLF001 - the state this listener exists to set
        finally:
            engine.dispose()
