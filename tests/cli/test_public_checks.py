"""The public checks of ../shared/domain/checks, asked through the command line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.cli.runner import COPIED_DOMAIN, SHARED_DOMAIN, pactnet

if TYPE_CHECKING:
    from pathlib import Path

CHECKS_FILE = "checks/gsomia-2019.json"


def _checks(kind: str) -> list[dict[str, Any]]:
    root = SHARED_DOMAIN if (SHARED_DOMAIN / "checks").is_dir() else COPIED_DOMAIN
    return list(json.loads((root / CHECKS_FILE).read_text(encoding="utf-8"))[kind])


def _world(domain: Path, check: dict[str, Any]) -> str:
    return str((domain / "checks" / check["world"]).resolve())


def _same(found: object, expected: object) -> bool:
    """Instants are compared as instants, everything else as is."""
    if isinstance(found, str) and isinstance(expected, str) and "T" in expected:
        return datetime.fromisoformat(found) == datetime.fromisoformat(expected)
    return found == expected


class TestPublicChecks:
    """Every public check passes through `pactnet agreement status` and `pactnet decide`."""

    @pytest.mark.parametrize("check", _checks("status"), ids=lambda c: f"{c['agreement']}@{c['at']}")
    def test_status_check_holds(self, domain: Path, check: dict[str, Any]) -> None:
        run = pactnet("agreement", "status", _world(domain, check), check["agreement"], "--at", check["at"], "--json")
        assert run.code == 0, run.output
        found = json.loads(run.stdout)
        assert set(found) == {"agreement", "at", "state", "notice", "term_ends", "ends_at", "ended_at"}
        for key, expected in check["expect"].items():
            assert _same(found[key], expected), (key, found[key], expected)

    @pytest.mark.parametrize("check", _checks("decide"), ids=lambda c: f"{c['report']}:{c['holder']}->{c['to']}")
    def test_decide_check_holds(self, domain: Path, check: dict[str, Any]) -> None:
        run = pactnet(
            "decide",
            _world(domain, check),
            "--report",
            check["report"],
            "--holder",
            check["holder"],
            "--to",
            check["to"],
            "--at",
            check["at"],
            "--json",
        )
        assert run.code == 0, run.output
        found = json.loads(run.stdout)
        expect = check["expect"]
        assert found["allowed"] is expect["allowed"]
        if "route" in expect:
            assert found["route"] == expect["route"]
        if expect["allowed"]:
            assert found["marking"]["level"] == expect["level"]
            assert found["marking"]["originator"]
        else:
            assert found["reasons"]
            assert all(reason["code"] and reason["message"] for reason in found["reasons"])
        if "legs" in expect:
            assert found["legs"] == expect["legs"]
