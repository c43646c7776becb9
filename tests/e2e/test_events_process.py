"""Live events from `pactnet node serve` as a real process: an open stream does not hold the node when it stops."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

import httpx

from pactnet.api.events import SHUTDOWN_GRACE_SECONDS
from tests.e2e.conftest import ServedNode, add_user, copy_node

if TYPE_CHECKING:
    from pathlib import Path


class TestStoppingWithAStreamOpen:
    """SIGTERM stops a node within its grace even while a user's event stream is open for an hour."""

    def test_the_node_stops_within_its_grace_and_the_stream_ends(self, tmp_path: Path, node_template: Path) -> None:
        folder = copy_node(node_template, tmp_path / "rok")
        headers = {"Authorization": f"Bearer {add_user(folder, 'alice')}"}
        opened = threading.Event()
        received: list[str] = []

        def listen(url: str) -> None:
            params = {"max_seconds": 3600}
            try:
                with httpx.stream("GET", f"{url}/api/v1/events", params=params, headers=headers, timeout=60) as answer:
                    for line in answer.iter_lines():
                        received.append(line)
                        opened.set()
            except httpx.RemoteProtocolError:
                received.append("cut")  # the server ended the response unfinished: a client reconnects later

        with ServedNode(folder, tmp_path / "serve.log") as node:
            listening = threading.Thread(target=listen, args=(node.url,), daemon=True)
            listening.start()
            assert opened.wait(timeout=10), node.output
            code, seconds = node.stop()
            listening.join(timeout=10)
        assert code in {0, -signal.SIGTERM}, node.output
        assert seconds < SHUTDOWN_GRACE_SECONDS + 3, node.output
        assert not listening.is_alive()
        assert "event: ready" in received
        assert received[-1] == "cut"
        assert "Traceback" not in node.output
