"""Kill -9 among the processes of senders, a hub and receivers during fan-out and relay: 0 lost, 0 duplicated.

Four kills of the soak of tests/e2e/kill_soak.py, on SQLite (one process a node) and on PostgreSQL (two API
workers a node, each with a dispatcher, on one database); bench/soak_kills.py runs hundreds (bench/README.md).
The seed is printed, and PACTNET_KILL_SEED draws the same kill moments again.
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING

import pytest

from tests.e2e.kill_soak import KillSoak

if TYPE_CHECKING:
    from pathlib import Path

KILLS = 4


@pytest.mark.parametrize(("backend", "workers"), [("sqlite", 1), ("postgresql", 2)])
def test_random_kills_during_fan_out_and_relay_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, backend: str, workers: int
) -> None:
    seed = int(os.environ.get("PACTNET_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill soak: seed {seed} (PACTNET_KILL_SEED={seed} draws the same kills again)")  # noqa: T201
    soak = KillSoak(tmp_path, seed, backend, workers)
    try:
        figures = soak.run(KILLS)
    finally:
        soak.close()
    print(figures.summary())  # noqa: T201
    assert sum(figures.kills.values()) == KILLS
    assert figures.accepted > 0
    assert figures.relayed > 0
    assert not figures.problems, figures.summary()
    assert (figures.lost, figures.duplicated) == (0, 0)
