"""`pactnet demo`, the README's main command: three node processes replay 2019 and leave nothing running."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LAUNCH = "rok-launch"


@pytest.fixture(scope="module")
def demo_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this module's demo runs (their TMPDIR), so that their nodes can be told apart from
    those of a demo that another test worker, or another user of the machine, runs at the same time."""
    return tmp_path_factory.mktemp("demo")


def _demo(temp: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pactnet", "demo", *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(temp)},
    )


@pytest.fixture(scope="module")
def summary(demo_temp: Path) -> dict[str, Any]:
    done = _demo(demo_temp, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _deliveries(summary: dict[str, Any], run: str) -> list[dict[str, Any]]:
    return [delivery for step in summary["steps"] if step["run"] == run for delivery in step["deliveries"]]


def _serving_demo_nodes(temp: Path) -> list[str]:
    """The command lines of demo nodes still serving from a folder under `temp`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"{temp}/pactnet-demo-" in text and "serve" in text:
            found.append(text)
    return found


def test_the_launch_goes_directly_and_is_marked_in_each_receivers_scheme(summary: dict[str, Any]) -> None:
    first = summary["steps"][0]
    assert all(
        set(delivery) >= {"report", "from", "to", "route", "level", "delivered"} for delivery in first["deliveries"]
    )
    launch = {d["to"]: d for d in first["deliveries"] if d["report"] == LAUNCH}
    assert (launch["JPN"]["route"], launch["JPN"]["level"], launch["JPN"]["delivered"]) == (
        ["ROK", "JPN"],
        "極秘",
        True,
    )
    assert (launch["USA"]["route"], launch["USA"]["level"]) == (["ROK", "USA"], "SECRET")
    track = {d["to"]: d for d in first["deliveries"] if d["report"] == "jpn-impact-track"}
    assert (track["ROK"]["route"], track["ROK"]["level"]) == (["JPN", "ROK"], "군사II급비밀")
    navy = {d["to"]: d for d in first["deliveries"] if d["report"] == "rok-pla-navy"}
    assert navy["JPN"]["route"] == ["ROK", "JPN"]
    assert navy["JPN"]["delivered"]


def test_the_notice_and_its_suspension_reach_both_nodes(summary: dict[str, Any]) -> None:
    notice, suspension = summary["steps"][1], summary["steps"][2]
    assert {status["ends_at"] for status in notice["statuses"].values()} == {"2019-11-23T00:00:00+09:00"}
    assert set(notice["statuses"]) == {"ROK", "JPN"}
    assert {(s["state"], s["notice"]) for s in suspension["statuses"].values()} == {("in_force", "suspended")}
    after_midnight = {d["to"]: d for d in suspension["deliveries"] if d["report"] == LAUNCH}
    assert after_midnight["JPN"]["route"] == ["ROK", "JPN"]


def test_without_the_suspension_the_launch_goes_only_through_washington(summary: dict[str, Any]) -> None:
    counterfactual = {(d["report"], d["to"]): d for d in _deliveries(summary, "without-the-suspension")}
    launch = counterfactual[(LAUNCH, "JPN")]
    assert (launch["route"], launch["level"], launch["delivered"]) == (["ROK", "USA", "JPN"], "極秘", True)
    navy = counterfactual[("rok-pla-navy", "JPN")]
    assert not navy["delivered"]
    assert navy["route"] == []
    assert {reason["code"] for reason in navy["reasons"]} >= {"agreement-not-in-force", "out-of-arrangement-scope"}
    ended = next(step for step in summary["steps"] if step["run"] == "without-the-suspension")["statuses"]
    assert {status["state"] for status in ended.values()} == {"terminated"}


def test_every_audit_log_verifies_and_every_receipt_matches(summary: dict[str, Any]) -> None:
    assert set(summary["audit"]) == {"JPN", "ROK", "USA"}
    assert all(node["verified"] for node in summary["audit"].values())
    assert all(run["entries"] > 0 for node in summary["audit"].values() for run in node["runs"].values())
    assert summary["receipts_match"] is True


def test_nothing_is_left_running(summary: dict[str, Any], demo_temp: Path) -> None:
    assert summary["steps"]
    assert _serving_demo_nodes(demo_temp) == []


def test_reasons_name_reports_by_name_not_by_id(summary: dict[str, Any]) -> None:
    fourth = summary["steps"][3]
    navy = next(d for d in fourth["deliveries"] if d["report"] == "rok-pla-navy" and d["to"] == "JPN")
    messages = " ".join(reason["message"] for reason in navy["reasons"])
    assert "relay of rok-pla-navy" in messages
    assert re.search(r"\b[0-9a-f]{32}\b", json.dumps(summary["steps"])) is None


def test_a_story_published_again_is_said_to_be_a_new_report(summary: dict[str, Any]) -> None:
    first, suspension = summary["steps"][0], summary["steps"][2]
    assert not any(delivery["new"] for delivery in first["deliveries"])
    assert [delivery["new"] for delivery in suspension["deliveries"]] == [True, True]


def test_the_json_includes_what_was_asked_beforehand(summary: dict[str, Any]) -> None:
    asked = summary["impact"]
    assert asked["agreement"] == "JPN-ROK-GSOMIA-2016"
    assert asked["at"].startswith("2019-11-23T00:00:00")


def test_the_account_fits_100_columns(demo_temp: Path) -> None:
    done = _demo(demo_temp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
    assert "rok-launch (a new report)" in done.stdout
