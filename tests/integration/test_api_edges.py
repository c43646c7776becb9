"""The API's answers at its edges: an oversized chunked body, 405's Allow header, and documented 400s."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import httpx

from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    import pytest
    from httpx import Client

    from pactnet.node import Node


def _until_closed(connection: socket.socket) -> bytes:
    """What the server sent before closing; a reset (it closed with our chunks unread) ends it too."""
    answer = b""
    try:
        while received := connection.recv(65536):
            answer += received
    except ConnectionResetError:
        pass
    return answer


class TestAnOversizedChunkedBody:
    """A body sent in chunks past the limit: a clean 413, one line in the log, no stack trace."""

    def test_it_is_refused_with_413_and_logged_once(
        self, node: Node, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        chunk = b"x" * 65536
        chunks = (node.config.max_body_bytes // len(chunk)) + 2
        request = (
            b"POST /api/v1/reports HTTP/1.1\r\nHost: rok\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        with LoopbackServer(node) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(request)
                try:
                    for _ in range(chunks):
                        connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    connection.sendall(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # answered and closed before the rest was sent
                answer = _until_closed(connection)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"content-type: application/json" in answer.lower()
        assert "Traceback" not in capfd.readouterr().err  # what uvicorn writes of an exception
        assert not [record for record in caplog.records if record.exc_info]
        lines = [record.getMessage() for record in caplog.records if "larger than" in record.getMessage()]
        assert len(lines) == 1, caplog.text


class TestMethodNotAllowed:
    """405 says which methods the route takes (RFC 9110 §15.5.6), in the one error shape."""

    def test_the_allow_header_names_the_routes_methods(self, client: Client) -> None:
        response = client.delete("/api/v1/health")
        assert response.status_code == httpx.codes.METHOD_NOT_ALLOWED
        assert response.headers["allow"] == "GET"
        assert response.json()["error"]["code"] == "method_not_allowed"


class TestTheSchema:
    """Every operation documents the answers any request may get: 400 among them."""

    def test_every_operation_documents_400_and_the_bounds_on_slow_clients(self, client: Client) -> None:
        schema = client.get("/openapi.json").json()
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                assert {"400", "408", "413", "503"} <= set(operation["responses"]), (method, path)

    def test_a_body_that_is_not_json_is_a_documented_400_or_422(self, client: Client, officer: dict[str, str]) -> None:
        headers = officer | {"content-type": "application/json"}
        response = client.post("/api/v1/reports", content=b"{not json", headers=headers)
        assert response.status_code in {400, 422}
        assert set(response.json()["error"]) == {"status", "code", "message", "details"}
