"""`pactnet node serve` as a real process on loopback: it serves, stops on SIGTERM, refuses bad ground."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.cli.runner import pactnet
from tests.e2e.conftest import ServedNode, add_user, copy_node

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LAUNCH: dict[str, Any] = {
    "title": "DPRK SRBM launch, Wonsan",
    "level": "군사II급비밀",
    "categories": ["dprk-missile"],
    "compartments": ["sigint"],
    "precedence": "flash",
    "body": "two projectiles, 06:00 KST",
}
# A refusal to start must come at once, not after the node has been waiting for requests.
REFUSAL_SECONDS = 15


def serve_once(folder: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`pactnet node serve FOLDER` expected to refuse to start: its result and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pactnet", "node", "serve", str(folder), "--port", "0", *options],
        capture_output=True,
        text=True,
        timeout=REFUSAL_SECONDS,
        check=False,
    )
    return done, time.monotonic() - started


@pytest.fixture(scope="class")
def served(
    tmp_path_factory: pytest.TempPathFactory, node_template: Path
) -> Iterator[tuple[ServedNode, dict[str, str]]]:
    """A node served by `pactnet node serve`, and the headers of its officer alice."""
    root = tmp_path_factory.mktemp("served")
    folder = copy_node(node_template, root / "rok")
    headers = {"Authorization": f"Bearer {add_user(folder, 'alice')}"}
    with ServedNode(folder, root / "serve.log") as node:
        yield node, headers


class TestServing:
    """A served node answers over real sockets with its user's token."""

    def test_health_needs_no_token_and_names_the_party(self, served: tuple[ServedNode, dict[str, str]]) -> None:
        node, _ = served
        response = httpx.get(f"{node.url}/api/v1/health", timeout=10)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "party": "ROK"}

    def test_a_published_report_reads_back_as_sent(self, served: tuple[ServedNode, dict[str, str]]) -> None:
        node, headers = served
        with httpx.Client(base_url=node.url, headers=headers, timeout=10) as http:
            published = http.post("/api/v1/reports", json=LAUNCH)
            assert published.status_code == 201, published.text
            report_id = published.json()["id"]
            read = http.get(f"/api/v1/reports/{report_id}")
        assert read.status_code == 200, read.text
        body = read.json()
        assert {key: body[key] for key in LAUNCH} == LAUNCH
        assert body["originator"] == "ROK"
        assert {decision["to"] for decision in published.json()["decisions"]} == {"JPN", "USA"}

    def test_a_request_without_a_token_gets_401_in_the_error_shape(
        self, served: tuple[ServedNode, dict[str, str]]
    ) -> None:
        node, _ = served
        response = httpx.post(f"{node.url}/api/v1/reports", json=LAUNCH, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == 401

    def test_the_openapi_document_is_served(self, served: tuple[ServedNode, dict[str, str]]) -> None:
        node, _ = served
        response = httpx.get(f"{node.url}/openapi.json", timeout=10)
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        assert "ROK" in document["info"]["title"]
        assert {"/api/v1/health", "/api/v1/reports", "/api/v1/audit"} <= set(document["paths"])

    def test_the_node_writes_nothing_alarming_while_serving(self, served: tuple[ServedNode, dict[str, str]]) -> None:
        node, _ = served
        assert "Traceback" not in node.output
        assert "ERROR" not in node.output


@dataclass(frozen=True)
class Stopped:
    """A node that served a report and was then stopped with SIGTERM."""

    folder: Path
    code: int
    seconds: float
    output: str
    entries_while_serving: int
    # node.db as an operator would copy it for a backup, right after the stop and before any other command.
    backup: Path


@pytest.fixture(scope="class")
def stopped(tmp_path_factory: pytest.TempPathFactory, node_template: Path) -> Stopped:
    """A node that published and read a report over HTTP, then got SIGTERM."""
    root = tmp_path_factory.mktemp("stopped")
    folder = copy_node(node_template, root / "rok")
    headers = {"Authorization": f"Bearer {add_user(folder, 'alice')}"}
    with ServedNode(folder, root / "serve.log") as node:
        with httpx.Client(base_url=node.url, headers=headers, timeout=10) as http:
            published = http.post("/api/v1/reports", json=LAUNCH)
            assert published.status_code == 201, published.text
            assert http.get(f"/api/v1/reports/{published.json()['id']}").status_code == 200
            entries = http.get("/api/v1/audit").json()["verification"]["entries"]
        code, seconds = node.stop()
    backup = shutil.copyfile(folder / "node.db", root / "backup.db")
    return Stopped(folder, code, seconds, node.output, entries, backup)


class TestStopping:
    """SIGTERM, as a service manager sends it, stops a node promptly and leaves its log whole."""

    def test_sigterm_stops_the_node_within_seconds(self, stopped: Stopped) -> None:
        # uvicorn shuts down gracefully, then re-raises the signal: death by SIGTERM is the expected end.
        assert stopped.code in {0, -signal.SIGTERM}, stopped.output
        assert stopped.seconds < 5

    def test_stopping_prints_no_stack_trace(self, stopped: Stopped) -> None:
        assert "Traceback" not in stopped.output

    def test_the_audit_log_is_intact_afterwards_and_lost_nothing(self, stopped: Stopped) -> None:
        run = pactnet("audit", "verify", str(stopped.folder), "--json")
        assert run.code == 0, run.output
        report = json.loads(run.stdout)
        assert report["intact"] is True
        assert report["entries"] == stopped.entries_while_serving
        assert stopped.entries_while_serving >= 5  # node-created, user-added, publish, decide x2, read

    def test_the_database_file_alone_holds_everything_once_the_node_stopped(self, stopped: Stopped) -> None:
        # An operator stops the service and copies node.db as a backup: committed reports must be in it.
        with closing(sqlite3.connect(stopped.backup)) as connection:
            reports = connection.execute("SELECT count(*) FROM reports").fetchone()
            entries = connection.execute("SELECT count(*) FROM audit_entries").fetchone()
        assert reports == (1,)
        assert entries == (stopped.entries_while_serving,)


class TestRefusingToStart:
    """`pactnet node serve` refuses at once, with a message and no stack trace, when it cannot serve."""

    def test_an_unknown_schema_revision_is_named(self, node_folder: Path) -> None:
        with closing(sqlite3.connect(node_folder / "node.db")) as connection, connection:
            connection.execute("UPDATE alembic_version SET version_num = 'ffff0000beef'")
        done, seconds = serve_once(node_folder)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "ffff0000beef" in done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        assert seconds < 10

    def test_a_folder_that_is_not_a_node_exits_2_saying_how_to_make_one(self, tmp_path: Path) -> None:
        done, _ = serve_once(tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "node.toml" in done.stderr
        assert "pactnet node init" in done.stderr
        assert "Traceback" not in done.stdout + done.stderr

    @pytest.mark.parametrize(
        "content", ["", "{not json", '{"at": "2019-11-22T18:00:00+09:00"}', '{"offset_seconds": "x"}']
    )
    def test_a_scenario_clock_file_that_is_not_one_is_named(self, node_folder: Path, content: str) -> None:
        clock = node_folder.parent / "scenario-clock.json"
        clock.write_text(content, encoding="utf-8")
        done, _ = serve_once(node_folder, "--scenario-clock", str(clock))
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{clock}: not a scenario clock file" in done.stderr
        assert "Traceback" not in done.stdout + done.stderr

    @pytest.mark.parametrize("name", ["nodes[rok]", "old[/]"])
    def test_a_folder_is_named_exactly_as_given(self, tmp_path: Path, name: str) -> None:
        done, _ = serve_once(tmp_path / name)
        assert done.returncode == 2, done.stdout + done.stderr
        assert str(tmp_path / name / "node.toml") in done.stderr

    def test_a_port_already_taken_stops_the_node_naming_the_address(self, node_folder: Path) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = subprocess.run(
                [sys.executable, "-m", "pactnet", "node", "serve", str(node_folder), "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=REFUSAL_SECONDS,
                check=False,
            )
        assert done.returncode != 0
        assert "address already in use" in done.stderr
        assert "Traceback" not in done.stdout + done.stderr
