"""Nodes as an operator makes and runs them: `pactnet node init` folders, and `pactnet node serve` as a process."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

import httpx
import pytest

from tests.cli.runner import Run, pactnet
from tests.databases import fresh_postgres_database

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator

OFFICER = (
    "--clearance",
    "군사II급비밀",
    "--compartment",
    "sigint",
    "--role",
    "analyst",
    "--role",
    "officer",
    "--role",
    "auditor",
)
# A node starts in about a second; a stopped one must be gone within a few.
START_SECONDS = 20.0
# The state of a listening socket in /proc/net/tcp.
_LISTEN = "0A"
STOP_SECONDS = 5.0


def init(folder: Path, *options: str) -> Run:
    """`pactnet node init FOLDER` for ROK on the bundled GSOMIA world."""
    return pactnet("node", "init", str(folder), "--world", "gsomia-2019", "--party", "ROK", *options)


def make_node(folder: Path) -> Path:
    """A node folder made by the command line, or the test fails saying why."""
    made = init(folder)
    assert made.code == 0, made.output
    return folder


def add_user(folder: Path, name: str, *options: str) -> str:
    """`pactnet user add` and the token it prints on its last line."""
    added = pactnet("user", "add", str(folder), name, *(options or OFFICER))
    assert added.code == 0, added.output
    return added.stdout.strip().splitlines()[-1]


def free_port() -> int:
    """A loopback port nothing listens on at this moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServedNode:
    """`pactnet node serve` as a child process on a free loopback port, stopped with SIGTERM as systemd does."""

    def __init__(self, folder: Path, log: Path, *options: str, verify: ssl.SSLContext | None = None) -> None:
        self.folder = folder
        self.log = log
        self.options = options
        self.port = free_port()
        # With a context to verify its certificate by, the node is served over HTTPS (options give its files).
        self.verify: ssl.SSLContext | bool = True if verify is None else verify
        self.url = f"{'http' if verify is None else 'https'}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def output(self) -> str:
        """What the process wrote to standard output and standard error."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def __enter__(self) -> Self:
        command = [sys.executable, "-m", "pactnet", "node", "serve", str(self.folder), "--port", str(self.port)]
        command += self.options
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            self._wait_until_healthy(self.process)
        except BaseException:
            self._kill()
            raise
        return self

    def _wait_until_healthy(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                message = f"the node exited with {process.returncode} before serving:\n{self.output}"
                raise AssertionError(message)
            try:
                healthy = httpx.get(f"{self.url}/api/v1/health", timeout=1, verify=self.verify).status_code == 200
            except httpx.TransportError:
                healthy = False
            # Another test's node may have taken the port between free_port() and this node's bind: it answers
            # /health as well (every node here is a ROK), and this test would go on against it with a token it
            # does not know (a 401). The node is this process's only once it holds the listening socket.
            if healthy and _listens_on(process.pid, self.port):
                return
            time.sleep(0.05)
        raise AssertionError(f"the node did not answer /api/v1/health within {START_SECONDS} s:\n{self.output}")

    def stop(self) -> tuple[int, float]:
        """Send SIGTERM; the exit code and the seconds it took, or fail if it is still running after a few."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._kill()
            pytest.fail(f"the node still ran {STOP_SECONDS} s after SIGTERM:\n{self.output}")
        return code, time.monotonic() - started

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def __exit__(self, *_: object) -> None:
        self._kill()


def _listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds a socket listening on TCP `port` (Linux: /proc/net/tcp* and /proc/PID/fd)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                listening.add(f"socket:[{fields[9]}]")
    try:
        links = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process has exited
        return False
    for link in links:
        with contextlib.suppress(OSError):  # a descriptor closed meanwhile
            if str(link.readlink()) in listening:
                return True
    return False


@pytest.fixture(scope="session")
def node_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ROK node on SQLite made once by `pactnet node init`, to be copied rather than made again for each test."""
    return make_node(tmp_path_factory.mktemp("template") / "rok")


def copy_node(template: Path, folder: Path) -> Path:
    """A copy of a node folder, modes and all: the same node as a fresh `node init`, a second sooner."""
    return Path(shutil.copytree(template, folder))


@pytest.fixture
def node_folder(node_template: Path, tmp_path: Path) -> Path:
    """A fresh ROK node on SQLite, as `pactnet node init` made it."""
    return copy_node(node_template, tmp_path / "rok")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    with fresh_postgres_database("pactnet_e2e") as url:
        yield url
