"""Bad input on the command line gets a clear message and exit code 2, never a stack trace."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.cli.runner import Run, pactnet

if TYPE_CHECKING:
    from pathlib import Path

DECIDE = [
    "--report",
    "rok-launch-2019-07-25",
    "--holder",
    "ROK",
    "--to",
    "JPN",
    "--at",
    "2019-08-01T12:00:00+09:00",
]


def _refused_cleanly(run: Run) -> None:
    assert run.code == 2, run.output
    assert "Traceback" not in run.output
    assert run.output.strip()


class TestWorldCheck:
    """`pactnet world check` validates any input without a stack trace."""

    def test_a_valid_bundled_world_gets_a_one_line_summary_and_exit_0(self) -> None:
        run = pactnet("world", "check", "gsomia-2019")
        assert run.code == 0, run.output
        assert len(run.stdout.strip().splitlines()) == 1
        assert "3 parties" in run.stdout

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("empty.toml", b""),
            ("junk.toml", bytes(range(256)) * 4),
            ("not-toml.toml", b"this is [not toml\n= at all"),
            ("wrong-format.toml", b'format = "pactnet.world/2"\n[parties.A]\nlevels = ["x"]\n'),
        ],
    )
    def test_a_broken_file_exits_2_with_its_errors(self, tmp_path: Path, name: str, content: bytes) -> None:
        path = tmp_path / name
        path.write_bytes(content)
        run = pactnet("world", "check", str(path))
        _refused_cleanly(run)
        assert "expected" in run.output

    def test_a_missing_file_exits_2_and_names_the_bundled_worlds(self, tmp_path: Path) -> None:
        run = pactnet("world", "check", str(tmp_path / "nowhere.toml"))
        _refused_cleanly(run)
        assert "gsomia-2019" in run.output

    def test_every_error_is_listed_with_its_path(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text(
            'format = "pactnet.world/1"\n'
            '[parties.A]\nlevels = ["low", "high"]\ncolour = "red"\n'
            '[parties.B]\nlevels = ["b1"]\n'
            '[agreements.AB]\nparties = ["A", "C"]\nequivalence = [{ A = "low", B = "b1" }]\nnotice_period = "P90X"\n',
            encoding="utf-8",
        )
        run = pactnet("world", "check", str(path))
        _refused_cleanly(run)
        assert "parties.A.colour" in run.stdout
        assert "agreements.AB.parties[1]" in run.stdout
        assert "agreements.AB.notice_period" in run.stdout


class TestCommandArguments:
    """Unknown ids and malformed instants are named in the message."""

    def test_an_instant_without_an_offset_is_refused(self) -> None:
        run = pactnet("agreement", "status", "gsomia-2019", "JPN-ROK-GSOMIA-2016", "--at", "2019-11-23T00:00:00")
        _refused_cleanly(run)
        assert "offset" in run.stderr

    def test_a_malformed_instant_is_refused(self) -> None:
        run = pactnet("decide", "gsomia-2019", *DECIDE[:-1], "23 Nov 2019")
        _refused_cleanly(run)
        assert "--at" in run.stderr

    def test_an_unknown_agreement_is_named_with_the_known_ones(self) -> None:
        run = pactnet("agreement", "status", "gsomia-2019", "NO-SUCH", "--at", "2019-11-23T00:00:00+09:00")
        _refused_cleanly(run)
        assert "NO-SUCH" in run.stderr
        assert "TISA-2014" in run.stderr

    @pytest.mark.parametrize(("option", "value"), [("--report", "nope"), ("--holder", "PRK"), ("--to", "CHN")])
    def test_an_unknown_report_or_party_is_refused(self, option: str, value: str) -> None:
        args = list(DECIDE)
        args[args.index(option) + 1] = value
        run = pactnet("decide", "gsomia-2019", *args)
        _refused_cleanly(run)
        assert value in run.stderr

    def test_impact_of_an_unknown_agreement_is_refused(self) -> None:
        run = pactnet("impact", "gsomia-2019", "--end", "NOPE", "--at", "2019-11-23T00:00:00+09:00")
        _refused_cleanly(run)


class TestCommandsAnswer:
    """The commands answer the questions of the GSOMIA story."""

    def test_the_timeline_shows_the_notice_its_suspension_and_the_withdrawal(self) -> None:
        run = pactnet("agreement", "timeline", "gsomia-2019", "JPN-ROK-GSOMIA-2016")
        assert run.code == 0, run.output
        for words in ("notice of termination by ROK", "notice suspended by ROK", "notice withdrawn by ROK"):
            assert words in run.stdout

    def test_the_counterfactual_timeline_ends_at_midnight(self) -> None:
        run = pactnet("agreement", "timeline", "gsomia-2019-no-suspension", "JPN-ROK-GSOMIA-2016", "--json")
        assert run.code == 0, run.output
        periods = json.loads(run.stdout)
        assert periods[-1]["state"] == "terminated"
        assert periods[-1]["from"] == "2019-11-23T00:00:00+09:00"

    def test_impact_of_ending_the_gsomia_sends_missile_data_through_washington(self) -> None:
        run = pactnet(
            "impact",
            "gsomia-2019",
            "--end",
            "JPN-ROK-GSOMIA-2016",
            "--at",
            "2019-11-23T00:00:00+09:00",
            "--json",
        )
        assert run.code == 0, run.output
        result = json.loads(run.stdout)
        pairs = {(p["from"], p["to"], p["category"]): p for p in result["pairs"]}
        assert pairs[("ROK", "JPN", "dprk-missile")]["before"]["kind"] == "direct"
        assert pairs[("ROK", "JPN", "dprk-missile")]["after"] == {
            "kind": "hub",
            "hub": "USA",
            "under": ["USA-ROK-GSOMIA-1987", "USA-JPN-GSOMIA-2007"],
            "text": "via USA (USA-ROK-GSOMIA-1987, USA-JPN-GSOMIA-2007)",
        }
        assert pairs[("ROK", "JPN", "pla-navy")]["after"]["kind"] == "none"
        assert pairs[("ROK", "USA", "pla-navy")]["after"]["kind"] == "direct"
        counts = result["counts"]
        assert sum(counts["before"].values()) == sum(counts["after"].values()) == len(result["reports"])
        assert counts["after"]["hub"] == 1
