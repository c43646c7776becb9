"""A client that sends its request slowly, or never finishes it, holds nothing: no urgency, no connection for long.

A real server on loopback and raw sockets that send what a stalling client sends (issue 17, item 3).
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pactnet.api.limits import MAX_READING_PER_CLIENT
from pactnet.federation.client import PartnerClient
from tests.integration.conftest import LoopbackServer
from tests.integration.test_hostile_envelopes import rok_and_jpn  # noqa: F401 - the fixture `pair`
from tests.integration.test_inbound import Pair, transfer
from tests.integration.test_priority import CountingUrgency

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT_MS = 1000
# Long enough for a deadline of TIMEOUT_MS to pass on a loaded machine; a stalled connection that is not cut off
# stays open far longer.
PATIENCE = 10.0
STALLED_BATCH = (
    b"POST /federation/v1/envelopes/batch HTTP/1.1\r\nHost: jpn\r\nPriority: u=0\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
)


@pytest.fixture
def served(pair: Pair) -> Iterator[tuple[Pair, int, CountingUrgency]]:
    """JPN served on loopback with a request deadline of TIMEOUT_MS, its urgency counted; the port."""
    pair.jpn.config = replace(pair.jpn.config, request_timeout_ms=TIMEOUT_MS)
    urgency = CountingUrgency()
    pair.jpn.uow.urgency = urgency
    with LoopbackServer(pair.jpn) as base_url:
        yield pair, int(base_url.rsplit(":", 1)[1]), urgency


def _connect(port: int, first: bytes = b"") -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    if first:
        connection.sendall(first)
    return connection


def _answer(connection: socket.socket) -> bytes:
    """What the server sends until it closes the connection (b"" if it closes without a word)."""
    received = b""
    started = time.monotonic()
    while time.monotonic() - started < PATIENCE:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the server kept the connection open for {PATIENCE} s: {received[:200]!r}")


class TestStalledBodies:
    """A request that sends its headers (saying `Priority: u=0`) and never its body."""

    def test_it_is_not_urgent_and_routine_traffic_does_not_wait_for_it(
        self, served: tuple[Pair, int, CountingUrgency]
    ) -> None:
        pair, port, urgency = served
        stalled = [_connect(port, STALLED_BATCH) for _ in range(4)]
        try:
            time.sleep(0.2)  # the server has read their headers
            assert not urgency.pressing
            client = PartnerClient()
            try:
                answers = client.post(f"http://127.0.0.1:{port}", [_routine(pair) for _ in range(20)])
            finally:
                client.close()
        finally:
            for connection in stalled:
                connection.close()
        assert [pair.open_answer(answer["envelope"])["kind"] for answer in answers] == ["receipt"] * 20
        assert urgency.marked == 0
        assert urgency.gave_way == 0

    def test_it_is_answered_408_once_the_deadline_passes_and_closed(
        self, served: tuple[Pair, int, CountingUrgency]
    ) -> None:
        _, port, _ = served
        with _connect(port, STALLED_BATCH + b'{"envelopes": [') as connection:
            answer = _answer(connection)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"code":"timeout"' in answer.replace(b" ", b"")

    def test_one_client_cannot_hold_more_than_its_share(self, served: tuple[Pair, int, CountingUrgency]) -> None:
        _, port, _ = served
        stalled = [_connect(port, STALLED_BATCH) for _ in range(MAX_READING_PER_CLIENT)]
        try:
            time.sleep(0.3)
            with _connect(port, STALLED_BATCH) as one_more:
                one_more.settimeout(TIMEOUT_MS / 2000)  # answered at once, not at the deadline
                assert one_more.recv(65536).startswith(b"HTTP/1.1 503")
        finally:
            for connection in stalled:
                connection.close()


class TestSlowHeaders:
    """A client that connects and sends its request line and headers slowly, or nothing at all."""

    @pytest.mark.parametrize("sent", [b"", b"POST /api/v1/reports HTTP/1.1\r\nHost: jpn\r\nPriority: u=0\r\n"])
    def test_the_connection_is_closed_once_the_deadline_passes(
        self, served: tuple[Pair, int, CountingUrgency], sent: bytes
    ) -> None:
        _, port, urgency = served
        with _connect(port, sent) as connection:
            started = time.monotonic()
            assert _answer(connection) == b""
        assert time.monotonic() - started >= TIMEOUT_MS / 1000 * 0.9
        assert urgency.marked == 0

    def test_headers_sent_a_byte_at_a_time_do_not_buy_time(self, served: tuple[Pair, int, CountingUrgency]) -> None:
        _, port, _ = served
        request = b"GET /api/v1/health HTTP/1.1\r\nHost: jpn\r\nX-Padding: " + b"a" * 10_000
        with _connect(port) as connection:
            started = time.monotonic()
            try:
                for byte in request:
                    connection.sendall(bytes([byte]))
                    time.sleep(0.05)
                    if time.monotonic() - started > PATIENCE:
                        pytest.fail("the server took headers a byte at a time for longer than its deadline")
            except (BrokenPipeError, ConnectionResetError):
                return  # closed at the deadline


def _routine(pair: Pair) -> dict[str, object]:
    payload = transfer()
    payload["report"]["precedence"] = "routine"
    return pair.envelope(payload)
