"""`pactnet demo --serve`: the story told, three consoles left running with a token each, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.test_demo import _serving_demo_nodes

if TYPE_CHECKING:
    from pathlib import Path


def _read_consoles(process: subprocess.Popen[str]) -> dict[str, dict[str, str]]:
    """The JSON object the demo prints once its nodes are ready."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.rstrip() == "}":
            consoles: dict[str, dict[str, str]] = json.loads("".join(lines))["consoles"]
            return consoles
    raise AssertionError(f"no consoles printed: {''.join(lines)}")


def _sign_in(client: httpx.Client, console: str, token: str) -> httpx.Response:
    form = client.get(f"{console}sign-in")
    secret = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert secret is not None
    return client.post(f"{console}sign-in", data={"token": token, "csrf": secret.group(1)})


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_three_consoles_show_2019_until_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    errors = (tmp_path / "stderr").open("w", encoding="utf-8")
    command = [sys.executable, "-m", "pactnet", "demo", "--serve", "--json"]
    # Its own TMPDIR: the nodes of a demo another test worker runs at the same time are not taken for these.
    temp = tmp_path / "temp"
    temp.mkdir()
    environment = {**os.environ, "TMPDIR": str(temp)}
    with (
        errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=environment) as process,
    ):
        try:
            consoles = _read_consoles(process)
            assert set(consoles) == {"JPN", "ROK", "USA"}
            rok = consoles["ROK"]
            with httpx.Client(timeout=30) as client:
                assert _sign_in(client, rok["url"], rok["token"]).status_code == 303
                page = client.get(f"{rok['url']}agreements/JPN-ROK-GSOMIA-2016")
            assert page.status_code == 200
            assert "notice suspended by ROK" in page.text  # recorded live by the demo, drawn on the timeline
            process.send_signal(stop)
            assert process.wait(timeout=60) == 0, (tmp_path / "stderr").read_text(encoding="utf-8")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert _serving_demo_nodes(temp) == []
    with httpx.Client(timeout=2) as client:
        try:
            client.get(rok["url"])
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("the ROK node still answers after Ctrl-C")
