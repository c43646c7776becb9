"""Start several nodes at once: each start takes about a second, and a network's tests start three or more."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


def side_by_side(jobs: Iterable[Callable[[], None]]) -> None:
    """Run the jobs in threads of their own and wait for all; raise the first failure in the caller's thread."""
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the caller's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
