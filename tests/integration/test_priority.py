"""A request that says it is flash or immediate (RFC 9218 Priority) is urgent work in the node from arrival."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from pactnet.federation.client import PartnerClient
from pactnet.federation.priority import priority_header, urgency_of
from pactnet.urgency import GIVE_WAY_LONGEST, Urgency
from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.types import Receive, Scope, Send

    from pactnet.node import Node


class CountingUrgency(Urgency):
    """Urgency that counts the urgent work it was given, and the steps that had to give way to some."""

    def __init__(self) -> None:
        super().__init__()
        self.marked = 0
        self.gave_way = 0

    def give_way(self, longest: float = GIVE_WAY_LONGEST) -> None:
        if self.pressing and not self.urgent_here:
            self.gave_way += 1
        super().give_way(longest)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self.marked += 1
        with super().running():
            yield


@pytest.fixture
def counted(node: Node) -> Iterator[tuple[CountingUrgency, str]]:
    """The node's API on loopback, its urgency counted; the base URL."""
    urgency = CountingUrgency()
    node.uow.urgency = urgency
    with LoopbackServer(node) as base_url:
        yield urgency, base_url


@pytest.mark.parametrize(
    ("header", "urgent"),
    [
        ("u=0", True),
        ("u=1, i", True),
        ("i, u=1", True),
        ("u=2", False),
        ("u=3", False),
        ("u=9", False),
        ("u=" + "0" * 5000, False),  # no 500: too long to be an sf-integer
        (None, False),
    ],
)
def test_an_authenticated_request_is_urgent_only_when_its_priority_says_flash_or_immediate(
    counted: tuple[CountingUrgency, str], officer: dict[str, str], header: str | None, urgent: bool
) -> None:
    urgency, base_url = counted
    headers = officer | ({} if header is None else {"Priority": header})
    response = httpx.get(f"{base_url}/api/v1/agreements", headers=headers, timeout=30)
    assert response.status_code == httpx.codes.OK
    assert urgency.marked == (1 if urgent else 0)


@pytest.mark.parametrize(
    ("path", "token"),
    [
        ("/api/v1/health", None),  # needs no token, so earns nothing
        ("/api/v1/agreements", None),
        ("/api/v1/agreements", "pn_not-a-token"),
        ("/federation/v1/envelopes/batch", None),  # a batch is made urgent by the envelopes it verifies
    ],
)
def test_a_request_that_is_not_authenticated_is_never_urgent(
    counted: tuple[CountingUrgency, str], path: str, token: str | None
) -> None:
    urgency, base_url = counted
    headers = {"Priority": "u=0"} | ({} if token is None else {"Authorization": f"Bearer {token}"})
    httpx.post(f"{base_url}{path}", json={"envelopes": []}, headers=headers, timeout=30)
    httpx.get(f"{base_url}{path}", headers=headers, timeout=30)
    assert urgency.marked == 0


class HeaderRecorder:
    """An ASGI application that answers every request with an empty batch answer and keeps its headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.seen.append({name.decode(): value.decode() for name, value in scope["headers"]})
        body = b'{"answers": []}'
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("urgent", [True, False])
def test_a_dispatcher_says_so_when_it_sends_flash_traffic(urgent: bool) -> None:
    recorder = HeaderRecorder()
    server = uvicorn.Server(uvicorn.Config(recorder, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = PartnerClient()
    try:
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        client.post(f"http://127.0.0.1:{port}", [], urgent=urgent)
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
    assert [headers.get("priority") for headers in recorder.seen] == ["u=0" if urgent else None]


def test_the_header_a_client_sends_for_each_precedence() -> None:
    assert priority_header("flash") == {"priority": "u=0"}
    assert priority_header("immediate") == {"priority": "u=1"}
    assert priority_header("priority") == {}
    assert priority_header("routine") == {}


@pytest.mark.parametrize(
    ("value", "urgency"),
    [
        ("u=0", 0),
        ("u=7", 7),
        ("i, u=2", 2),
        ("u = 1", 1),
        ("u=001", 1),
        ("u=8", 3),
        ("u=-1", 3),
        ("u=x", 3),
        ("u=", 3),
        ("", 3),
        ("u=" + "1" * 5000, 3),
    ],
)
def test_the_urgency_of_a_priority_field(value: str, urgency: int) -> None:
    assert urgency_of(value) == urgency
