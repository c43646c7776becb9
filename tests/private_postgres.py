"""A PostgreSQL server of a test's own, which the test may stop, crash and start (never the shared one on 5432).

`initdb` and `pg_ctl` of PostgreSQL 15 (/usr/lib/postgresql/15/bin) make a cluster in a temporary folder and
serve it on a free loopback port, with trust authentication. PostgreSQL refuses to run as root: when the tests
run as root, the server runs as the `postgres` user, which then owns the folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal, Self

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
START_SECONDS = 60


class PrivatePostgresError(RuntimeError):
    """The private server did not start or stop; the message carries its log."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: `start`, `database`, `stop(mode)`, `close`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pactnet-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            owner = pwd.getpwnam(self.user)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run(BIN / "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    @property
    def admin_url(self) -> str:
        """The URL of the server's `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str | Path) -> None:
        done = subprocess.run(
            [str(part) for part in command], capture_output=True, text=True, user=self.user, check=False, cwd="/"
        )
        if done.returncode != 0:
            raise PrivatePostgresError(f"{command[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> Self:
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-t", str(START_SECONDS), "-w", "start"
        )
        return self

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stop the server: `immediate` is a crash (no checkpoint, recovery at the next start)."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-t", str(START_SECONDS), "-w", "stop")

    def restart(self, mode: Literal["fast", "immediate"], down_for: float) -> None:
        """Stop the server, leave it down for `down_for` seconds, and start it again."""
        self.stop(mode)
        time.sleep(down_for)
        self.start()

    def database(self, name: str) -> str:
        """Create a database; its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def server_log(self) -> str:
        """What the server wrote to its log."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        """Stop the server if it runs, and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PrivatePostgresError):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()
