"""The operator's log of a serving node (`--log-format json|text`): start, delivery failures, never a secret."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from tests.cli.runner import pactnet
from tests.e2e.conftest import ServedNode, add_user

if TYPE_CHECKING:
    from pathlib import Path

TITLE = "Hwasong-15 launch from Sunan"
BODY = "apogee 4,475 km; flight 53 minutes"
WAIT = 20.0


def _trust_an_unreachable_jpn(rok: Path, tmp_path: Path) -> None:
    """ROK trusts a real JPN node's identity at an address where nothing listens."""
    jpn = tmp_path / "jpn"
    assert pactnet("node", "init", str(jpn), "--world", "gsomia-2019", "--party", "JPN").code == 0
    printed = pactnet("node", "identity", str(jpn), "--url", "http://127.0.0.1:9")
    identity = tmp_path / "jpn.json"
    identity.write_text(printed.stdout, encoding="utf-8")
    trusted = pactnet("node", "trust", str(rok), str(identity), "--yes")
    assert trusted.code == 0, trusted.output


def _events(served: ServedNode) -> list[dict[str, Any]]:
    return [json.loads(line) for line in served.output.splitlines() if line.startswith("{")]


class TestTheJsonLog:
    """One JSON object a line, naming the partner and the cause of each failed delivery."""

    def test_a_failed_delivery_is_logged_with_its_partner_and_cause_and_no_secret(
        self, node_folder: Path, tmp_path: Path
    ) -> None:
        _trust_an_unreachable_jpn(node_folder, tmp_path)
        token = add_user(node_folder, "alice")
        with ServedNode(node_folder, tmp_path / "serve.log", "--log-format", "json") as served:
            report = {"title": TITLE, "level": "군사II급비밀", "categories": ["dprk-missile"], "body": BODY}
            report |= {"recipients": ["JPN"]}
            published = httpx.post(
                f"{served.url}/api/v1/reports", json=report, headers={"Authorization": f"Bearer {token}"}
            )
            assert published.status_code == 201, published.text
            deadline = time.monotonic() + WAIT
            while not any(event["event"] == "delivery-failed" for event in _events(served)):
                assert time.monotonic() < deadline, served.output
                time.sleep(0.1)
            output = served.output
        events = _events(served)
        started = next(event for event in events if event["event"] == "node-started")
        assert (started["party"], started["url"], started["tls"]) == ("ROK", served.url, False)
        failed = next(event for event in events if event["event"] == "delivery-failed")
        assert failed["partner"] == "JPN"
        assert failed["level"] == "warning"
        assert "ConnectError" in failed["cause"]
        assert failed["attempts"] >= 1
        for secret in (token, TITLE, BODY):
            assert secret not in output


class TestTheTextLog:
    """The text log is one line an event."""

    def test_the_start_is_one_line(self, node_folder: Path, tmp_path: Path) -> None:
        with ServedNode(node_folder, tmp_path / "serve.log", "--log-format", "text") as served:
            deadline = time.monotonic() + WAIT
            while "node-started" not in served.output:
                assert time.monotonic() < deadline, served.output
                time.sleep(0.05)
            line = next(line for line in served.output.splitlines() if "node-started" in line)
        assert 'party="ROK"' in line
        assert " INFO node-started " in line

    def test_an_unknown_format_exits_2(self, node_folder: Path) -> None:
        run = pactnet("node", "serve", str(node_folder), "--log-format", "xml")
        assert run.code == 2, run.output
        assert "--log-format" in run.stderr
