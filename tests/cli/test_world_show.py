"""`pactnet world show`, `world check --json` and `pactnet --version`: what a user needs before `user add`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pactnet import __version__
from tests.cli.runner import pactnet

if TYPE_CHECKING:
    from pathlib import Path

EVE = "2019-11-23T00:00:00+09:00"


class TestWorldShow:
    """`world show` lists the parties with their levels and aliases, and every pact's state at an instant."""

    def test_the_levels_come_lowest_first_with_their_aliases(self) -> None:
        run = pactnet("world", "show", "gsomia-2019", "--at", EVE, "--json")
        assert run.code == 0, run.output
        parties = {party["code"]: party for party in json.loads(run.stdout)["parties"]}
        assert [level["level"] for level in parties["JPN"]["levels"]] == ["秘", "極秘", "機密"]
        assert parties["JPN"]["levels"][1]["aliases"] == ["特定秘密"]
        assert next(level["level"] for level in parties["ROK"]["levels"]) == "군사III급비밀"

    def test_the_gsomia_is_in_force_with_its_notice_suspended_at_midnight(self) -> None:
        run = pactnet("world", "show", "gsomia-2019", "--at", EVE, "--json")
        pacts = {pact["id"]: pact for pact in json.loads(run.stdout)["agreements"]}
        assert pacts["JPN-ROK-GSOMIA-2016"]["state"] == "in_force"
        assert pacts["JPN-ROK-GSOMIA-2016"]["notice"] == "suspended"
        assert pacts["TISA-2014"]["hub"] == "USA"

    def test_without_the_suspension_the_gsomia_has_ended_at_midnight(self) -> None:
        run = pactnet("world", "show", "gsomia-2019-no-suspension", "--at", EVE, "--json")
        pacts = {pact["id"]: pact for pact in json.loads(run.stdout)["agreements"]}
        assert pacts["JPN-ROK-GSOMIA-2016"]["state"] != "in_force"
        assert pacts["JPN-ROK-GSOMIA-2016"]["ended_at"] is not None

    def test_the_table_names_every_party_and_agreement(self) -> None:
        run = pactnet("world", "show", "gsomia-2019")
        assert run.code == 0, run.output
        for name in ("JPN", "ROK", "USA", "JPN-ROK-GSOMIA-2016", "TISA-2014", "군사II급비밀", "TOP SECRET"):
            assert name in run.stdout

    def test_a_bad_instant_exits_2(self) -> None:
        run = pactnet("world", "show", "gsomia-2019", "--at", "yesterday")
        assert run.code == 2, run.output
        assert "--at" in run.stderr


class TestWorldCheckJson:
    """`world check --json` gives counts, or every issue with its path."""

    def test_a_valid_world_gives_its_counts(self) -> None:
        run = pactnet("world", "check", "gsomia-2019", "--json")
        assert run.code == 0, run.output
        assert json.loads(run.stdout) == {
            "valid": True,
            "parties": 3,
            "agreements": 3,
            "arrangements": 1,
            "events": 12,
            "reports": 6,
        }

    def test_an_invalid_world_gives_every_issue_and_exit_2(self, tmp_path: Path) -> None:
        world = tmp_path / "bad.toml"
        world.write_text('format = "pactnet.world/1"\nsurprise = 1\n', encoding="utf-8")
        run = pactnet("world", "check", str(world), "--json")
        assert run.code == 2, run.output
        shown = json.loads(run.stdout)
        assert shown["valid"] is False
        assert any(issue["path"] == "surprise" for issue in shown["issues"])


class TestVersion:
    """`pactnet --version` names the version."""

    def test_the_version_is_printed(self) -> None:
        run = pactnet("--version")
        assert run.code == 0, run.output
        assert run.stdout.strip() == f"pactnet {__version__}"
