"""The short tamper soak: 50 random tamperings of a real node's witnessed log, every one detected (issue 17)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from tests.databases import fresh_postgres_database
from tests.integration.audit_soak import KINDS, SoakResult, is_untouched, soak, witnessed_node

if TYPE_CHECKING:
    from pathlib import Path

ROUNDS = 50


class TestTheTamperSoak:
    """Every tampering of a witnessed log is detected; the long run is bench/soak_audit.py."""

    def test_fifty_random_tamperings_are_all_detected(self, tmp_path: Path, database_url: str) -> None:
        seed = random.SystemRandom().randrange(2**32)
        if database_url.startswith("sqlite"):
            result, untouched = self._run(tmp_path, None, None, seed)
        else:
            with fresh_postgres_database("pactnet_test") as jpn_database:
                result, untouched = self._run(tmp_path, database_url, jpn_database, seed)
        assert result.total == ROUNDS
        assert result.missed == [], f"seed {seed}"
        assert result.found == ROUNDS
        assert len(result.made) >= len(KINDS) // 2, f"seed {seed}: too few kinds drawn: {result.made}"
        assert untouched

    @staticmethod
    def _run(tmp_path: Path, rok: str | None, jpn: str | None, seed: int) -> tuple[SoakResult, bool]:
        with witnessed_node(tmp_path, rok, jpn) as target:
            result = soak(target, ROUNDS, random.Random(seed))  # noqa: S311 - a seed to replay the tamperings, not a secret
            return result, is_untouched(target)
