"""Secrets stay in the node's folder and database: not in what `node init` prints, not in an error's message."""

from __future__ import annotations

import stat
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from pactnet.node import init_node, open_node
from pactnet.store.tables import reports
from tests.cli.runner import pactnet
from tests.databases import fresh_postgres_database

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


class TestNodeInit:
    """`node init` with a database URL that holds a password."""

    def test_the_password_is_not_printed_and_node_toml_is_the_owners_alone(self, tmp_path: Path) -> None:
        folder = tmp_path / "rok"
        with fresh_postgres_database() as url:
            run = pactnet(
                "node",
                "init",
                str(folder),
                "--world",
                "gsomia-2019",
                "--party",
                "ROK",
                "--database",
                _with_password(url),
            )
        assert run.code == 0, run.output
        assert PASSWORD not in run.output
        assert "***" in run.stdout
        assert PASSWORD in (folder / "node.toml").read_text(encoding="utf-8")  # where the node reads it
        assert stat.S_IMODE((folder / "node.toml").stat().st_mode) == 0o600

    def test_a_url_that_is_not_one_is_not_echoed(self, tmp_path: Path) -> None:
        run = pactnet(
            "node",
            "init",
            str(tmp_path / "rok"),
            "--world",
            "gsomia-2019",
            "--party",
            "ROK",
            "--database",
            f"::{PASSWORD}::",
        )
        assert run.code != 0
        assert PASSWORD not in run.output


class TestDatabaseErrors:
    """An error of a statement, as the dispatcher and the server would log it."""

    @pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
    def test_a_database_error_does_not_carry_a_reports_title_or_body(self, tmp_path: Path, kind: str) -> None:
        """The message of a failed statement (what the dispatcher and the server log) leaves its parameters out."""
        folder = tmp_path / "rok"
        with fresh_postgres_database() as url:
            init_node(folder, "gsomia-2019", "ROK", url if kind == "postgresql" else None)
            node = open_node(folder)
            row = {
                "id": "r1",
                "originator": "ROK",
                "origin_id": "r1",
                "title": f"title {PASSWORD}",
                "level": "군사II급비밀",
                "level_rank": 1,
                "precedence": "routine",
                "compartments": [],
                "categories": [],
                "body_type": "text",
                "body": f"body {PASSWORD}",
                "created_at": "2019-07-25T06:00:00.000000Z",
            }
            try:
                with node.uow.transaction() as connection:
                    connection.execute(insert(reports), row)
                with pytest.raises(IntegrityError) as caught, node.uow.transaction() as connection:
                    connection.execute(insert(reports), row | {"title": f"again {PASSWORD}"})
            finally:
                node.close()
        assert PASSWORD not in str(caught.value)
