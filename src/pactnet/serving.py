"""What a serving node leaves in its folder: a lock that keeps key rotation out, and the URL it is served at.

`pactnet node serve` holds a shared lock on `serve.lock` for as long as it runs (several serving processes of
one node may share it); `pactnet node rotate-key` takes it exclusively, so it cannot replace the keys of a node
that is signing with them. The lock is the operating system's (`flock`): it goes with the process, however the
process ends, so a crashed server never leaves the folder locked.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LOCK_FILE = "serve.lock"
SERVED_URL_FILE = "served_url"


class ServingError(PactnetError):
    """The folder's node is being served, and what was asked needs it stopped."""


@contextmanager
def _locked(folder: Path, mode: int) -> Iterator[bool]:
    """Whether the lock was taken in `mode` (without waiting); held until the block ends."""
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


@contextmanager
def serving(folder: Path, url: str | None) -> Iterator[None]:
    """Hold the serving lock while the block runs, and note the URL the node is served at (if it is known)."""
    with _locked(folder, fcntl.LOCK_SH) as taken:
        if not taken:
            raise ServingError(f"{folder}: its keys are being rotated (pactnet node rotate-key); try again after it")
        if url is not None:
            (folder / SERVED_URL_FILE).write_text(url + "\n", encoding="utf-8")
        yield


@contextmanager
def stopped(folder: Path) -> Iterator[None]:
    """Run the block only while no process serves the folder's node (and none can start serving it)."""
    with _locked(folder, fcntl.LOCK_EX) as taken:
        if not taken:
            raise ServingError(
                f"{folder}: the node is being served (pactnet node serve holds {LOCK_FILE}); stop it first"
            )
        yield


def served_url(folder: Path) -> str | None:
    """The URL the node was last served at, if `node serve` noted one."""
    try:
        text = (folder / SERVED_URL_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None
