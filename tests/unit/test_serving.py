"""The server settings `node serve` passes to uvicorn survive being sent to a spawned worker."""

from __future__ import annotations

import pickle

from pactnet.api.serving import HeaderDeadline, server_settings, use_request_timeout


class TestServerSettings:
    """uvicorn pickles its configuration for each worker it spawns (`--workers N`)."""

    def test_the_protocol_class_can_be_pickled_for_a_worker(self) -> None:
        protocol = server_settings(1500)["http"]
        assert pickle.loads(pickle.dumps(protocol)) is HeaderDeadline  # noqa: S301 - our own bytes

    def test_the_deadline_is_the_nodes_request_timeout(self) -> None:
        try:
            use_request_timeout(2500)
            assert HeaderDeadline.deadline == 2.5
        finally:
            use_request_timeout(30_000)
