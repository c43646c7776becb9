"""Real databases for the integration tests: SQLite in a temporary folder, and PostgreSQL on loopback.

The PostgreSQL tests never skip: if the server cannot be reached they fail, so CI cannot pass without them.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from pactnet.api.app import create_app
from pactnet.api.serving import server_settings
from pactnet.node import Node, init_node, open_node
from pactnet.services.users import add_user
from tests.databases import fresh_postgres_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.certificates import ServerFiles


# The roles of a user who publishes, records the party's acts and reads the audit log: the fixtures' officer.
WORKING_ROLES = ("analyst", "officer", "auditor")


class Clock:
    """A clock the test moves by hand; nodes take their time from it."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'node.db'}"
        return
    with fresh_postgres_database("pactnet_test") as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2019, 7, 25, 6, 0, tzinfo=UTC))


@pytest.fixture
def folder(tmp_path: Path, database_url: str) -> Path:
    """A ROK node's folder on the GSOMIA world."""
    target = tmp_path / "rok"
    init_node(target, "gsomia-2019", "ROK", None if database_url.startswith("sqlite") else database_url)
    return target


@pytest.fixture
def node(folder: Path, clock: Clock) -> Iterator[Node]:
    opened = open_node(folder, clock=clock)
    yield opened
    opened.close()


class LoopbackServer:
    """The node's API served by uvicorn on a free loopback port, in a thread of the test process (HTTPS with `tls`)."""

    def __init__(self, node: Node, tls: ServerFiles | None = None) -> None:
        settings = server_settings(node.config.request_timeout_ms)  # as `node serve` runs it
        if tls is not None:
            settings |= {"ssl_certfile": str(tls.certificate), "ssl_keyfile": str(tls.key)}
        config = uvicorn.Config(create_app(node), host="127.0.0.1", port=0, **settings)
        self.scheme = "http" if tls is None else "https"
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the node's API did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def client(node: Node) -> Iterator[httpx.Client]:
    """An HTTP client of the node's API over real loopback sockets."""
    with LoopbackServer(node) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


@pytest.fixture
def officer(node: Node) -> dict[str, str]:
    """Authorization headers of a user cleared to 군사II급비밀 with the compartment 'sigint', in every working role."""
    _, token = add_user(node, "officer", "군사II급비밀", ["sigint"], roles=WORKING_ROLES)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def clerk(node: Node) -> dict[str, str]:
    """Authorization headers of a user cleared only to 군사III급비밀, with no compartment."""
    _, token = add_user(node, "clerk", "군사III급비밀", [])
    return {"Authorization": f"Bearer {token}"}
