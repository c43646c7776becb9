"""A full disk under SQLite: publishes are refused with a clear 503 and nothing half-written; nothing is lost.

ROK's database lives on a tmpfs of a few megabytes that the test mounts (the rest of its folder, and the other
nodes, on the ordinary disk), so that the disk fills for real: SQLite's own writes meet ENOSPC. Mounting takes
root (or CAP_SYS_ADMIN); where the test cannot mount, it is skipped and says so. The three nodes are real
`pactnet node serve` processes (tests.e2e.network).

ROK first delivers a few reports; then a file fills the tmpfs, and ROK is published to in batches until one is
refused. Every refusal is a 503 in the one error shape saying the database is out of space (no 500, no stack
trace in the log); a refused batch is stored not at all. Then the file is removed (space returns), publishing
goes on, and every report answered 201 reaches JPN (if allowed there) and USA exactly once, and every audit
log verifies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.network import SENDER, Network, Sent

if TYPE_CHECKING:
    from collections.abc import Iterator

SIZE = "6m"
BATCH = 10
BODY = "x" * 4000  # reports large enough that a batch needs fresh pages
TRIES = 200


@contextmanager
def small_disk() -> Iterator[Path]:
    """A tmpfs of SIZE mounted on a new folder, unmounted and removed afterwards; skips if it cannot be mounted."""
    where = Path(tempfile.mkdtemp(prefix="pactnet-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        shutil.rmtree(where, ignore_errors=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no room left; the file."""
    filler = disk / "filler"
    chunk = b"\0" * 65_536
    with filler.open("wb") as sink, suppress(OSError):
        while True:
            sink.write(chunk)
            sink.flush()
    return filler


def publish_or_refusal(network: Network, prefix: str) -> dict[str, Sent] | httpx.Response:
    """Publish a batch at ROK: what was sent, or the answer if it was not 201."""
    titles = [f"{prefix}-{n}" for n in range(BATCH)]
    bodies = [
        {"title": title, "level": "군사II급비밀", "categories": ["dprk-missile"], "body": BODY} for title in titles
    ]
    answer = network.http[SENDER].post("/api/v1/reports/batch", json={"reports": bodies})
    if answer.status_code != httpx.codes.CREATED:
        return answer
    return {
        title: Sent(result["id"], to_jpn=True) for title, result in zip(titles, answer.json()["results"], strict=True)
    }


def test_a_full_disk_refuses_publishes_cleanly_and_loses_nothing_once_space_returns(tmp_path: Path) -> None:
    with small_disk() as disk:
        network = Network(tmp_path, {SENDER: f"sqlite:///{disk / 'rok.db'}"})
        try:
            network.start()
            sent = network.publish("before", 6)
            network.settle(sent)
            filler = fill(disk)
            refusals: list[httpx.Response] = []
            refused_titles: list[str] = []
            for number in range(TRIES):
                outcome = publish_or_refusal(network, f"full-{number}")
                if isinstance(outcome, httpx.Response):
                    refusals.append(outcome)
                    refused_titles += [f"full-{number}-{n}" for n in range(BATCH)]
                    if len(refusals) >= 3:
                        break
                else:
                    sent |= outcome
            assert refusals, f"the disk never filled: {TRIES} batches accepted"
            for refusal in refusals:
                assert refusal.status_code == httpx.codes.SERVICE_UNAVAILABLE, refusal.text
                assert refusal.json()["error"]["code"] == "unavailable"
                assert "out of space" in refusal.json()["error"]["message"], refusal.text
            filler.unlink()  # space returns
            for number in range(3):
                outcome = publish_or_refusal(network, f"after-{number}")
                assert not isinstance(outcome, httpx.Response), outcome.text
                sent |= outcome
            network.settle(sent, seconds=60)
            network.check(sent)
            at_sender = network.held(SENDER)
            assert not [title for title in refused_titles if at_sender[title]], "a refused batch was stored in part"
        finally:
            network.close()
            os.sync()
