"""The cases of issue 12 through the command line: each an answer (exit 0) or an error with its path (exit 2)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from pactnet.cli.main import app
from tests.unit.builders import JK, US_ROK, reference, toml

if TYPE_CHECKING:
    from pathlib import Path

    from typer.testing import Result


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def world_file(tmp_path: Path, **agreement: str) -> str:
    document = reference()
    document["agreements"][JK] |= agreement
    path = tmp_path / "world.toml"
    path.write_text(toml(document), encoding="utf-8")
    return str(path)


class TestWorldCheck:
    """`world check` names the path of what the fine print forbids, and exits 2."""

    def test_a_time_zone_naming_a_folder_exits_2_with_its_path(self, tmp_path: Path) -> None:
        result = run("world", "check", world_file(tmp_path, timezone="America"))
        assert result.exit_code == 2
        assert f"agreements.{JK}.timezone" in result.output

    def test_a_renewal_of_9999_years_exits_2_with_its_path(self, tmp_path: Path) -> None:
        result = run("world", "check", world_file(tmp_path, renewal="P9999Y"))
        assert result.exit_code == 2
        assert f"agreements.{JK}.renewal" in result.output


class TestInstantsAsked:
    """An --at near the year 1 or 9999 gets an answer, or an error saying which years are allowed."""

    def test_agreement_status_at_the_last_second_of_9999_answers_with_no_term_end(self) -> None:
        result = run("agreement", "status", "gsomia-2019", JK, "--at", "9999-12-31T23:59:59Z", "--json")
        assert result.exit_code == 0, result.output
        answer = json.loads(result.output)
        assert (answer["state"], answer["term_ends"]) == ("in_force", None)

    def test_agreement_status_in_the_year_9998_answers_with_the_next_term_end(self) -> None:
        result = run("agreement", "status", "gsomia-2019", JK, "--at", "9998-01-01T00:00:00Z", "--json")
        assert json.loads(result.output)["term_ends"] == "9998-11-23T00:00:00+09:00"

    def test_agreement_status_at_the_first_instant_shows_it_in_utc_where_the_local_time_leaves_the_calendar(
        self,
    ) -> None:
        result = run("agreement", "status", "gsomia-2019", US_ROK, "--at", "0000-12-31T23:00:00-01:00", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["at"] == "0001-01-01T00:00:00+00:00"

    def test_decide_at_an_instant_past_9999_in_utc_exits_2_naming_the_option(self) -> None:
        args = ("--report", "rok-launch-2019-07-25", "--holder", "ROK", "--to", "JPN")
        result = run("decide", "gsomia-2019", *args, "--at", "9999-12-31T23:00:00-05:00")
        assert result.exit_code == 2
        assert "--at" in result.output
        assert "year 9999" in result.output

    def test_decide_at_the_first_instant_is_refused_with_reasons(self) -> None:
        args = ("--report", "rok-launch-2019-07-25", "--holder", "ROK", "--to", "JPN", "--json")
        result = run("decide", "gsomia-2019", *args, "--at", "0000-12-31T23:00:00-01:00")
        assert result.exit_code == 0, result.output
        assert "report-not-created" in {reason["code"] for reason in json.loads(result.output)["reasons"]}
