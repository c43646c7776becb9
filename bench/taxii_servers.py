"""Launchers for the TAXII 2.1 servers the benchmark compares: OASIS's `medallion` and a pactnet node.

Each launcher starts a real server on a free loopback port and yields what a TAXII client needs (the
discovery URL, a user and a password, the titles of the collections to write and read); the server is always
stopped when the block ends (SIGTERM, then SIGKILL after 15 s). medallion runs from the benchmark's own virtual
environment (bench/setup-taxii), pactnet from the project's (.venv), each as its own process.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from machine import process_cpu_seconds

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
PACTNET_PYTHON = REPO / ".venv" / "bin" / "python"
MEDALLION = Path(sys.executable).parent / "medallion"
TAXII_JSON = "application/taxii+json;version=2.1"
STIX_JSON = "application/stix+json;version=2.1"
# pactnet: the party publishing, its world (ROK has partners JPN and USA) and the user's clearance.
PARTY = "ROK"
WORLD = "gsomia-2019"
CLEARANCE = "군사II급비밀"
# medallion: one API root, one collection written and read.
MEDALLION_ROOT = "bench"
MEDALLION_COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
MEDALLION_TITLE = "bench objects"
MAX_CONTENT_LENGTH = 10 * 1024 * 1024


@dataclass(slots=True)
class Target:
    """A running TAXII server as a client sees it, and its process (for CPU and memory)."""

    name: str
    discovery: str
    user: str
    password: str
    write_title: str | None  # None: the first collection the user can write
    read_title: str | None  # None: the collection written to
    process: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid) if self.process else float("nan")

    def rss_mb(self) -> float:
        """The server's resident memory now (VmRSS), in MB."""
        if not self.process:
            return float("nan")
        for line in Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str, user: str, password: str) -> bool:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 -- a loopback URL this module built
        url, headers={"Accept": TAXII_JSON, "Authorization": f"Basic {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)  # noqa: PLR2004
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def _process(command: list[str], log: Path, target: Target) -> Iterator[Target]:
    """Start a server, wait until its discovery answers (180 s at most), yield it, always stop it."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    target.process = process
    try:
        deadline = time.monotonic() + 180  # medallion reads 100,000 objects at start; a loaded machine
        while not _answers(target.discovery, target.user, target.password):
            if process.poll() is not None:
                text = log.read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"{target.name} exited with {process.returncode}:\n{text}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target.name} did not answer at {target.discovery} within 180 s")
            time.sleep(0.1)
        yield target
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- medallion -------------------------------------------------------------------------------------------
def medallion_data(port: int, preload: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The memory backend's initial data: one API root, one collection anyone logged in may read and write.

    `preload`: objects already in the collection (with their manifest entries), for the figures at sizes
    that posting would take hours to reach (medallion compares each posted object with every stored one).
    """
    objects = list(preload or [])
    added = "2026-01-01T00:00:00.000000Z"
    manifest = [
        {
            "id": obj["id"],
            "date_added": added,
            "version": obj.get("modified", obj.get("created")),
            "media_type": STIX_JSON,
        }
        for obj in objects
    ]
    return {
        "/discovery": {
            "title": "medallion (benchmark)",
            "default": f"http://127.0.0.1:{port}/{MEDALLION_ROOT}/",
            "api_roots": [f"http://127.0.0.1:{port}/{MEDALLION_ROOT}/"],
        },
        MEDALLION_ROOT: {
            "information": {
                "title": "benchmark API root",
                "versions": [TAXII_JSON],
                "max_content_length": MAX_CONTENT_LENGTH,
            },
            "status": [],
            "collections": [
                {
                    "id": MEDALLION_COLLECTION,
                    "title": MEDALLION_TITLE,
                    "can_read": True,
                    "can_write": True,
                    "media_types": [STIX_JSON],
                    "objects": objects,
                    "manifest": manifest,
                }
            ],
        },
    }


@contextlib.contextmanager
def medallion(workdir: Path, preload: list[dict[str, Any]] | None = None) -> Iterator[Target]:
    """medallion 3.0.0 with its memory backend on a free loopback port (Flask's threaded server, as shipped)."""
    port = free_port()
    password = secrets.token_urlsafe(16)
    data, config = workdir / "medallion-data.json", workdir / "medallion-config.json"
    data.write_text(json.dumps(medallion_data(port, preload)), encoding="utf-8")
    backend: dict[str, Any] = {
        "module": "medallion.backends.memory_backend",
        "module_class": "MemoryBackend",
        "filename": str(data),
    }
    # A `next` is forgotten 30 s after the first page by default (MemoryBackend's session_timeout); reading
    # 10,000 objects takes medallion far longer than that, so a whole read needs the session kept.
    backend["session_timeout"] = 86_400
    settings = {"backend": backend, "users": {"bench": password}, "taxii": {"max_page_size": 100}}
    config.write_text(json.dumps(settings), encoding="utf-8")
    target = Target("medallion", f"http://127.0.0.1:{port}/taxii2/", "bench", password, MEDALLION_TITLE, None)
    command = [str(MEDALLION), "--host", "127.0.0.1", "--port", str(port), "--log-level", "ERROR", str(config)]
    with _process(command, workdir / "medallion.log", target) as running:
        yield running


# -- pactnet ---------------------------------------------------------------------------------------------
def _pactnet(*args: str) -> str:
    command = [str(PACTNET_PYTHON), "-m", "pactnet", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"pactnet {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def init_pactnet(folder: Path, database: str | None = None) -> str:
    """`pactnet node init` (ROK in gsomia-2019, with partners) and a publishing user; the user's API token."""
    extra = ["--database", database] if database else []
    _pactnet("node", "init", str(folder), "--world", WORLD, "--party", PARTY, *extra)
    out = _pactnet("user", "add", str(folder), "bench", "--clearance", CLEARANCE, "--role", "analyst")
    return out.strip().splitlines()[-1].strip()


@contextlib.contextmanager
def pactnet(
    workdir: Path, write_title: str | None, read_title: str | None, database: str | None = None
) -> Iterator[Target]:
    """A pactnet node (`node init`, `user add`, `node serve`) on a free loopback port; TAXII at /taxii2/."""
    folder = workdir / "ROK-node"
    token = init_pactnet(folder, database)
    port = free_port()
    target = Target("pactnet", f"http://127.0.0.1:{port}/taxii2/", "bench", token, write_title, read_title)
    command = [str(PACTNET_PYTHON), "-m", "pactnet", "node", "serve", str(folder), "--host", "127.0.0.1"]
    with _process([*command, "--port", str(port)], workdir / "pactnet.log", target) as running:
        yield running
