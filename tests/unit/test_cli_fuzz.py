"""Damaged and extreme worlds and instants at `world check`, `agreement status` and `decide`: exit 0 or 2, no crash.

A few hundred examples run in CI; `PACTNET_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/unit/test_cli_fuzz.py`
runs thousands by hand.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pactnet.cli.main import app
from tests.unit.builders import reference, toml
from tests.unit.test_world_fuzz import _paths, _replace, values

EXAMPLES = int(os.environ.get("PACTNET_FUZZ_EXAMPLES", "300"))
EDGE_INSTANTS = [
    "0000-12-31T23:00:00-01:00",
    "0000-12-31T23:59:59.999999999-00:01",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+09:00",
    "0001-01-01T08:59:59+09:00",
    "0001-01-01T09:00:00+09:00",
    "1969-12-31T23:59:59.5-00:30",
    "2019-11-23T00:00:00.123456789+09:00",
    "2019-08-24T23:59:59+09:00",
    "9998-06-15T12:00:00Z",
    "9999-12-31T14:59:59+09:00",
    "9999-12-31T23:59:59.9999999Z",
    "9999-12-31T23:59:59-00:01",
    "9999-12-31T19:00:00-05:00",
    "2019-11-23T00:00:00",
    "2019-02-30T00:00:00Z",
    "2019-11-23T24:00:00Z",
    "2019-11-23T00:00:00+24:00",
    "tomorrow",
    "",
]
TOML_INSTANTS = [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=9))),
    datetime(1, 1, 1, 9, tzinfo=timezone(timedelta(hours=9))),
    datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))),
    datetime(9999, 12, 31, 23, tzinfo=UTC),
]
GOOD_DURATIONS = ["P1D", "P1W", "P1M", "P1Y", "P1000Y", "P12000M", "P365242D"]
BAD_DURATIONS = ["P12001M", "P99999Y", "P5000Y", "P9999Y", "P0D", "PT1H"]
GOOD_ZONES = ["Europe/Paris", "Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati", "+23:59", "-23:59", "+00:00"]
BAD_ZONES = ["America", "America/", "../etc", "Z", ""]
DURATIONS = GOOD_DURATIONS + BAD_DURATIONS
ZONES = GOOD_ZONES + BAD_ZONES
instants = st.sampled_from(EDGE_INSTANTS) | st.sampled_from(TOML_INSTANTS)
words = st.text(max_size=6) | st.sampled_from(["JPN", "ROK", "USA", "JPN-ROK-GSOMIA-2016", "TISA-2014"])


# Shifts that carry the GSOMIA history (1987-2023) to the first years of the calendar, or its last.
SHIFTS = [timedelta(0), -timedelta(days=1986 * 365 + 481), timedelta(days=7975 * 365 + 1934)]


def shifted(value: object, by: timedelta) -> object:
    """An instant of the world moved by `by`, written as it was (RFC 3339 text or TOML date-time)."""
    if isinstance(value, datetime):
        return value + by
    if isinstance(value, str):
        try:
            return (datetime.fromisoformat(value) + by).isoformat()
        except (ValueError, OverflowError):
            return value
    return value


@st.composite
def edge_worlds(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """The GSOMIA world moved to the calendar's edges, its terms and clocks sometimes changed; and instants near it."""
    document = reference()
    if draw(st.booleans()):  # one agreement's clock and terms changed, mostly to valid ones
        text = document["agreements"][draw(st.sampled_from(sorted(document["agreements"])))]
        bad = draw(st.integers(0, 7)) == 0
        pick = st.sampled_from(BAD_DURATIONS if bad else GOOD_DURATIONS)
        for key in ("term", "renewal", "notice_period"):
            text.pop(key, None)
        if draw(st.booleans()):
            text |= {"term": draw(pick), "renewal": draw(pick), "notice_period": draw(pick)}
        else:
            text["notice_period"] = draw(pick)
        if draw(st.booleans()):
            text["timezone"] = draw(st.sampled_from(BAD_ZONES if bad else GOOD_ZONES))
    by = draw(st.sampled_from(SHIFTS))
    for item in document["events"]:
        for key in ("at", "until"):
            if key in item:
                item[key] = shifted(item[key], by)
    for report in document["reports"]:
        if "created" in report:
            report["created"] = shifted(report["created"], by)
    near = [str(shifted(item["at"], timedelta(hours=hours))) for item in document["events"] for hours in (-1, 0, 1)]
    near += [str(shifted("2019-11-23T00:00:00+09:00", by + timedelta(days=365 * years))) for years in (1, 5, 30)]
    return document, near


@st.composite
def damaged_worlds(draw: st.DrawFn) -> dict[str, Any]:
    document = reference()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        document = _replace(document, path, draw(values | instants | st.sampled_from(DURATIONS + ZONES)))
    return document


@st.composite
def world_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """TOML text: a world at the edges, a damaged world, or either cut and spliced; and instants to ask about."""
    # Two edge worlds for one damaged: a world must load for status and decide to answer about it.
    damaged: st.SearchStrategy[tuple[dict[str, Any], list[str]]] = damaged_worlds().map(lambda document: (document, []))
    document, near = draw(st.one_of(edge_worlds(), edge_worlds(), damaged))
    try:
        text = toml(document)
    except TypeError:  # a value with no TOML form, drawn into a damaged world
        text = toml(reference())
    if draw(st.integers(0, 5)) == 0:
        start = draw(st.integers(0, len(text)))
        text = text[:start] + draw(st.text(max_size=20)) + text[start + draw(st.integers(0, 40)) :]
    return text, near


def often(draw: st.DrawFn) -> bool:
    """True nine times in ten: mostly names and instants the world knows, sometimes anything."""
    return bool(draw(st.sampled_from([True] * 9 + [False])))


@st.composite
def invocations(draw: st.DrawFn, path: str, near: list[str]) -> list[list[str]]:
    """One to four of the three commands, with ids from the world or not, and instants at the edges."""
    made = []
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.sampled_from(near * 3 + EDGE_INSTANTS) if often(draw) else st.text(max_size=8))
        json_flag = ["--json"] if draw(st.booleans()) else []
        command = draw(st.sampled_from(["check", "status", "decide"]))
        if command == "check":
            made.append(["world", "check", path])
        elif command == "status":
            pacts = st.sampled_from(["JPN-ROK-GSOMIA-2016", "TISA-2014", "USA-ROK-GSOMIA-1987"])
            pact = draw(pacts if often(draw) else words)
            made.append(["agreement", "status", path, pact, "--at", at, *json_flag])
        else:
            reports = st.sampled_from(["rok-launch-2019-07-25", "jpn-impact-track-2019-07-25", "jpn-kimitsu"])
            parties = st.sampled_from(["JPN", "ROK", "USA"])
            report = draw(reports if often(draw) else words)
            holder, recipient = (draw(parties if often(draw) else words) for _ in range(2))
            made.append(["decide", path, "--report", report, "--holder", holder, "--to", recipient, "--at", at])
            made[-1] += json_flag
    return made


class TestTheCommandsAnswerOrSayWhy:
    """Whatever the world and the instant, the commands answer (exit 0) or give a clear error (exit 2)."""

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(world=world_texts(), data=st.data())
    def test_world_check_agreement_status_and_decide_exit_0_or_2_never_with_an_internal_error(
        self, world: tuple[str, list[str]], data: st.DataObject
    ) -> None:
        text, near = world
        runner = CliRunner()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "world.toml"
            path.write_text(text, encoding="utf-8")
            for args in data.draw(invocations(str(path), near)):
                result = runner.invoke(app, args)
                crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
                assert not crashed, f"{args}: {result.exception!r}\n{result.output}"
                assert result.exit_code in (0, 2), f"{args}: exit {result.exit_code}\n{result.output}"
                assert "internal error" not in result.output
                event(f"{args[0]} {args[1] if args[0] != 'decide' else ''}: exit {result.exit_code}")
