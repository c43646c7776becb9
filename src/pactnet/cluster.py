"""Several nodes on one machine, each a separate `pactnet node serve` process on a free loopback port.

What `pactnet demo` runs on, and what the federation tests and benchmarks start: every node gets its own folder
and SQLite database (or a PostgreSQL URL), trusts every other node of the cluster, and has one user cleared to
its party's highest level, whose token is kept here (never printed).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from pactnet.config import CONFIG_FILE, load_config
from pactnet.crypto.identity import verify_identity
from pactnet.errors import PactnetError
from pactnet.federation.partners import save_partners
from pactnet.federation.tomlfile import write_atomically
from pactnet.node import identity_document, init_node, open_node, partner_registry
from pactnet.services.users import add_user

if TYPE_CHECKING:
    from pathlib import Path

START_TIMEOUT = 30.0
# The demo's one user at each node publishes, gives notice and consents, and verifies the log.
DEMO_ROLES = ("analyst", "officer", "auditor")


class ClusterError(PactnetError):
    """A node of the cluster did not start or answer; the message says which and why."""


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ClusterNode:
    """One node of a cluster: its folder, URL, officer's token and, while running, its process."""

    party: str
    folder: Path
    port: int
    token: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The node's base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The officer's authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    def start(self, clock_file: Path | None = None, *, workers: int = 1, timeout: float = START_TIMEOUT) -> None:
        """Start `pactnet node serve` for this node (with `workers` API processes); wait up to `timeout` s for it."""
        command = [sys.executable, "-m", "pactnet", "node", "serve", str(self.folder), "--port", str(self.port)]
        if clock_file is not None:
            command += ["--scenario-clock", str(clock_file)]
        if workers > 1:
            command += ["--workers", str(workers)]
        log = (self.folder / "serve.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.folder / "serve.log").read_text(encoding="utf-8", errors="replace")[-2000:]
                raise ClusterError(f"{self.party}'s node exited with {self.process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == httpx.codes.OK:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise ClusterError(f"{self.party}'s node did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the node gracefully (SIGTERM), as an operator would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """Kill the node at once (SIGKILL): a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def create_cluster(
    base: Path,
    world: str,
    parties: list[str],
    databases: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, ClusterNode]:
    """Create one node per party under `base`, each trusting all the others; nothing is started yet.

    `settings` are extra node.toml settings for every node (for instance a short retry backoff in tests).
    """
    nodes: dict[str, ClusterNode] = {}
    for party in parties:
        folder = base / party.lower()
        init_node(folder, world, party, (databases or {}).get(party))
        if settings:
            config = replace(load_config(folder), **settings)
            write_atomically(folder / CONFIG_FILE, config.to_toml())
        opened = open_node(folder)
        try:
            highest = opened.world.parties[party].levels[-1]
            _, token = add_user(opened, "officer", highest, [], actor="cluster", roles=DEMO_ROLES)
        finally:
            opened.close()
        nodes[party] = ClusterNode(party, folder, free_port(), token)
    issued = datetime.now(UTC)
    for node in nodes.values():
        registry = partner_registry(node.folder)
        for other in nodes.values():
            if other is not node:
                document = identity_document(other.folder, other.url, issued)
                registry = registry.trust(verify_identity(document))
        save_partners(node.folder, registry)
    return nodes
