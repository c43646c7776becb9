"""The operator's everyday commands around a running node: key rotation kept out while it serves, rotation
statements printed again, the URL it is really served at, one clear line for a port in use."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

from tests.cli.runner import Run, pactnet
from tests.e2e.conftest import ServedNode

if TYPE_CHECKING:
    from pathlib import Path


def _clean_failure(run: Run) -> None:
    assert run.code == 2, run.output
    assert "error:" in run.stderr
    assert "Traceback" not in run.output


class TestRotationWhileServing:
    """`node rotate-key` refuses while the node is served, and works once it is stopped."""

    def test_rotate_key_is_refused_while_serving_and_the_keys_stay(self, node_folder: Path, tmp_path: Path) -> None:
        key_before = (node_folder / "signing.key").read_bytes()
        with ServedNode(node_folder, tmp_path / "serve.log"):
            run = pactnet("node", "rotate-key", str(node_folder))
        _clean_failure(run)
        assert "being served" in run.stderr
        assert (node_folder / "signing.key").read_bytes() == key_before
        assert pactnet("audit", "verify", str(node_folder)).code == 0

    def test_after_the_server_stops_the_rotation_goes_through_and_the_log_verifies(
        self, node_folder: Path, tmp_path: Path
    ) -> None:
        with ServedNode(node_folder, tmp_path / "serve.log") as served:
            served.stop()
        run = pactnet("node", "rotate-key", str(node_folder))
        assert run.code == 0, run.output
        assert pactnet("audit", "verify", str(node_folder)).code == 0


class TestRotationStatements:
    """Every rotation statement is kept, and printed again for a partner that missed it."""

    def test_two_rotations_are_listed_and_written_oldest_first(self, node_folder: Path, tmp_path: Path) -> None:
        printed = [json.loads(pactnet("node", "rotate-key", str(node_folder)).stdout) for _ in range(2)]
        listed = pactnet("node", "rotations", str(node_folder), "--json")
        assert listed.code == 0, listed.output
        assert json.loads(listed.stdout) == printed
        out = tmp_path / "statements"
        written = pactnet("node", "rotations", str(node_folder), "--write", str(out))
        assert written.code == 0, written.output
        assert printed[1]["fingerprint"] in written.stdout
        files = sorted(out.iterdir())
        assert [path.name for path in files] == ["rotation-1.json", "rotation-2.json"]
        assert [json.loads(path.read_text(encoding="utf-8")) for path in files] == printed

    def test_a_node_never_rotated_has_none(self, node_folder: Path) -> None:
        run = pactnet("node", "rotations", str(node_folder), "--json")
        assert run.code == 0, run.output
        assert json.loads(run.stdout) == []

    def test_a_folder_that_is_no_node_exits_2(self, tmp_path: Path) -> None:
        _clean_failure(pactnet("node", "rotations", str(tmp_path / "nothing")))


class TestServedUrl:
    """`node identity` prints the URL the node was really served at, not only the configured one."""

    def test_identity_names_the_port_it_was_served_on(self, node_folder: Path, tmp_path: Path) -> None:
        with ServedNode(node_folder, tmp_path / "serve.log") as served:
            run = pactnet("node", "identity", str(node_folder))
        assert run.code == 0, run.output
        assert json.loads(run.stdout)["url"] == served.url


class TestPortInUse:
    """A port another process listens on stops `node serve` with exit 2 and one line."""

    def test_one_line_and_exit_2(self, node_folder: Path) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = subprocess.run(
                [sys.executable, "-m", "pactnet", "node", "serve", str(node_folder), "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().count("\n") == 0
        assert f"127.0.0.1:{port}" in done.stderr
