"""Running the `pactnet` command as a user would: a real process, its exit code and its output."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DOMAIN = REPO.parent / "shared" / "domain"
COPIED_DOMAIN = REPO / "tests" / "fixtures" / "domain"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def pactnet(*args: str, env: dict[str, str] | None = None) -> Run:
    """The command with these arguments, and these environment variables besides the test's own."""
    done = subprocess.run(
        [sys.executable, "-m", "pactnet", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    return Run(done.returncode, done.stdout, done.stderr)
