"""`pactnet node init`, `pactnet user` and `pactnet audit` run as an operator runs them, on real databases."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import tomllib
from contextlib import closing
from dataclasses import fields
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
import pytest
from alembic import command
from alembic.config import Config

from pactnet.config import NodeConfig
from pactnet.store.database import create, head_revision
from tests.cli.runner import Run, pactnet
from tests.e2e.conftest import OFFICER, ServedNode, add_user, copy_node, init

if TYPE_CHECKING:
    from pathlib import Path

DEFAULTS = {item.name: item.default for item in fields(NodeConfig) if item.name != "folder"}
LEVELS = ("군사III급비밀", "군사II급비밀", "군사I급비밀")


def _clean_failure(run: Run) -> None:
    """Exit 2 with an `error:` line, and no stack trace for the user to read."""
    assert run.code == 2, run.output
    assert "error:" in run.stderr
    assert "Traceback" not in run.output
    assert "internal error" not in run.output


def _sql(database: Path, statement: str) -> None:
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(statement)


def _verify(folder: Path) -> tuple[Run, dict[str, Any]]:
    run = pactnet("audit", "verify", str(folder), "--json")
    report: dict[str, Any] = json.loads(run.stdout)
    return run, report


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """One node made once for the tests that only look at it, with what `node init` printed."""
    folder = tmp_path_factory.mktemp("made") / "rok"
    return folder, init(folder)


class TestInit:
    """`pactnet node init` makes a complete folder, or fails cleanly saying why."""

    def test_init_succeeds_and_names_the_party_and_database(self, made: tuple[Path, Run]) -> None:
        folder, run = made
        assert run.code == 0, run.output
        assert "ROK" in run.stdout
        assert str(folder / "node.db") in run.stdout

    def test_node_toml_holds_every_setting_with_its_value(self, made: tuple[Path, Run]) -> None:
        folder, _ = made
        settings = tomllib.loads((folder / "node.toml").read_text(encoding="utf-8"))
        assert set(settings) == set(DEFAULTS)
        assert settings == DEFAULTS | {"party": "ROK", "world": "gsomia-2019"}

    @pytest.mark.parametrize("key", ["signing.key", "encryption.key"])
    def test_the_keys_are_readable_by_the_owner_only(self, made: tuple[Path, Run], key: str) -> None:
        folder, _ = made
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600

    def test_the_folder_is_the_owners_only(self, made: tuple[Path, Run]) -> None:
        folder, _ = made
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    def test_the_database_is_migrated_and_its_log_started(self, made: tuple[Path, Run]) -> None:
        folder, _ = made
        with closing(sqlite3.connect(folder / "node.db")) as connection:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            kinds = [row[0] for row in connection.execute("SELECT kind FROM audit_entries ORDER BY seq")]
        assert revision == (head_revision(),)
        assert kinds == ["node-created"]

    def test_a_second_init_into_the_same_folder_exits_2_and_changes_nothing(self, node_folder: Path) -> None:
        before = {path.name: path.read_bytes() for path in node_folder.iterdir()}
        again = init(node_folder)
        _clean_failure(again)
        assert "already a node folder" in again.stderr
        assert {path.name: path.read_bytes() for path in node_folder.iterdir()} == before

    @pytest.mark.parametrize(
        ("options", "world_text", "said"),
        [
            pytest.param(["--party", "PRK"], None, "party 'PRK' is not in the world", id="unknown-party"),
            pytest.param(["--world", "{world}"], "parties = [", "not TOML", id="world-not-toml"),
            pytest.param(["--world", "{world}"], "parties = 3\n", "does not validate", id="world-invalid"),
            pytest.param(["--world", "{world}"], None, "found no file", id="world-missing"),
            pytest.param(["--database", "mysql://x"], None, "unsupported database 'mysql'", id="mysql"),
            pytest.param(["--database", "nonsense"], None, "not a database URL", id="not-a-url"),
            pytest.param(
                ["--database", "postgresql://postgres@127.0.0.1:1/none"], None, "cannot open the database", id="no-pg"
            ),
        ],
    )
    def test_a_bad_init_exits_2_with_a_clear_message(
        self, tmp_path: Path, options: list[str], world_text: str | None, said: str
    ) -> None:
        world = tmp_path / "world.toml"
        if world_text is not None:
            world.write_text(world_text, encoding="utf-8")
        arguments = [option.format(world=world) for option in options]
        # The later --world / --party win over those init() passes, as Click takes the last occurrence.
        run = init(tmp_path / "rok", *arguments)
        _clean_failure(run)
        assert said in run.stderr
        assert not (tmp_path / "rok" / "node.toml").exists()
        assert not (tmp_path / "rok" / "signing.key").exists()

    @pytest.mark.parametrize("where", ["notes.txt", "notes.txt/rok"])
    def test_init_where_a_file_stands_exits_2_naming_the_path(self, tmp_path: Path, where: str) -> None:
        (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
        run = init(tmp_path / where)
        _clean_failure(run)
        assert str(tmp_path / where) in run.stderr


class TestInitOnPostgres:
    """`pactnet node init --database postgresql://...` keeps everything but the keys and config in PostgreSQL."""

    def test_init_migrates_the_database_and_starts_its_log(self, tmp_path: Path, postgres_url: str) -> None:
        folder = tmp_path / "rok"
        run = init(folder, "--database", postgres_url)
        assert run.code == 0, run.output
        assert tomllib.loads((folder / "node.toml").read_text(encoding="utf-8"))["database"] == postgres_url
        assert not (folder / "node.db").exists()
        with psycopg.connect(postgres_url) as connection:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            kinds = connection.execute("SELECT kind FROM audit_entries ORDER BY seq").fetchall()
        assert revision == (head_revision(),)
        assert kinds == [("node-created",)]
        verified, report = _verify(folder)
        assert verified.code == 0, verified.output
        assert report["intact"] is True

    def test_a_second_node_on_the_same_database_is_refused(self, tmp_path: Path, postgres_url: str) -> None:
        assert init(tmp_path / "first", "--database", postgres_url).code == 0
        second = init(tmp_path / "second", "--database", postgres_url)
        _clean_failure(second)
        assert "already holds a pactnet schema" in second.stderr


@pytest.fixture(scope="class")
def with_alice(tmp_path_factory: pytest.TempPathFactory, node_template: Path) -> tuple[Path, Run]:
    """A node with the user alice, and what `user add` printed."""
    folder = copy_node(node_template, tmp_path_factory.mktemp("users") / "rok")
    return folder, pactnet("user", "add", str(folder), "alice", *OFFICER)


class TestUsers:
    """`pactnet user` adds, lists and disables users; a token is shown once and stored only as a hash."""

    def test_add_prints_the_token_once_as_its_last_line(self, with_alice: tuple[Path, Run]) -> None:
        _, run = with_alice
        assert run.code == 0, run.output
        token = run.stdout.strip().splitlines()[-1]
        assert token.startswith("pn_")
        assert len(token) > 40
        assert run.output.count(token) == 1

    def test_the_token_is_stored_nowhere_in_the_folder_but_its_hash_is(self, with_alice: tuple[Path, Run]) -> None:
        folder, run = with_alice
        token = run.stdout.strip().splitlines()[-1]
        files = {path.name: path.read_bytes() for path in folder.iterdir()}
        assert {"node.db", "node.toml"} <= set(files)
        assert [name for name, content in files.items() if token.encode() in content] == []
        # The search does look at the users' rows: the hash is found where the token is not.
        assert hashlib.sha256(token.encode()).hexdigest().encode() in files["node.db"]

    def test_list_shows_alice_with_her_clearance_and_compartment(self, with_alice: tuple[Path, Run]) -> None:
        folder, _ = with_alice
        run = pactnet("user", "list", str(folder))
        assert run.code == 0, run.output
        row = next(line for line in run.stdout.splitlines() if "alice" in line)
        assert "군사II급비밀" in row
        assert "sigint" in row
        assert "active" in row

    def test_an_unknown_clearance_exits_2_naming_the_schemes_levels(self, with_alice: tuple[Path, Run]) -> None:
        folder, _ = with_alice
        run = pactnet("user", "add", str(folder), "bob", "--clearance", "TOP SECRET")
        _clean_failure(run)
        assert "'TOP SECRET'" in run.stderr
        assert all(level in run.stderr for level in LEVELS)

    @pytest.mark.parametrize("clearance", ["[/]", "[bold]TOP"])
    def test_an_unknown_clearance_is_quoted_exactly_as_typed(
        self, with_alice: tuple[Path, Run], clearance: str
    ) -> None:
        folder, _ = with_alice
        run = pactnet("user", "add", str(folder), "bob", "--clearance", clearance)
        _clean_failure(run)
        assert f"'{clearance}'" in run.stderr

    def test_a_duplicate_name_exits_2(self, with_alice: tuple[Path, Run]) -> None:
        folder, _ = with_alice
        run = pactnet("user", "add", str(folder), "alice", "--clearance", "군사III급비밀")
        _clean_failure(run)
        assert "'alice' already exists" in run.stderr

    def test_disabling_an_unknown_user_exits_2(self, with_alice: tuple[Path, Run]) -> None:
        folder, _ = with_alice
        run = pactnet("user", "disable", str(folder), "mallory")
        _clean_failure(run)
        assert "no user named 'mallory'" in run.stderr

    def test_a_disabled_users_token_gets_401_from_the_running_node(self, node_folder: Path, tmp_path: Path) -> None:
        token = add_user(node_folder, "alice")
        headers = {"Authorization": f"Bearer {token}"}
        with ServedNode(node_folder, tmp_path / "serve.log") as served, httpx.Client(base_url=served.url) as http:
            assert http.get("/api/v1/reports", headers=headers).status_code == 200
            disabled = pactnet("user", "disable", str(node_folder), "alice")
            assert disabled.code == 0, disabled.output
            refused = http.get("/api/v1/reports", headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "unauthorized"
        listed = pactnet("user", "list", str(node_folder))
        assert "disabled" in next(line for line in listed.stdout.splitlines() if "alice" in line)


class TestRoles:
    """`pactnet user add --role` gives a user roles; without one a user is an analyst; `--json` for scripts."""

    def test_roles_given_are_shown_by_add_and_list_as_json(self, node_folder: Path) -> None:
        roles = ("--role", "officer", "--role", "auditor")
        added = pactnet("user", "add", str(node_folder), "kim", "--clearance", "군사III급비밀", *roles, "--json")
        assert added.code == 0, added.output
        shown = json.loads(added.stdout)
        assert shown["roles"] == ["auditor", "officer"]
        assert shown["token"].startswith("pn_")
        listed = pactnet("user", "list", str(node_folder), "--json")
        assert listed.code == 0, listed.output
        users = {user["name"]: user for user in json.loads(listed.stdout)}
        assert users["kim"] == {
            "name": "kim",
            "clearance": "군사III급비밀",
            "compartments": [],
            "roles": ["auditor", "officer"],
            "disabled": False,
        }
        assert shown["token"] not in listed.stdout

    def test_a_user_without_a_role_is_an_analyst(self, node_folder: Path) -> None:
        added = pactnet("user", "add", str(node_folder), "lee", "--clearance", "군사III급비밀")
        assert added.code == 0, added.output
        assert "roles analyst" in added.stdout

    def test_an_unknown_role_exits_2_naming_the_roles(self, node_folder: Path) -> None:
        run = pactnet("user", "add", str(node_folder), "bob", "--clearance", "군사III급비밀", "--role", "wizard")
        _clean_failure(run)
        assert "'wizard'" in run.stderr
        assert all(role in run.stderr for role in ("analyst", "officer", "auditor", "admin"))

    def test_an_analyst_is_refused_an_officers_act_by_the_running_node(self, node_folder: Path, tmp_path: Path) -> None:
        token = add_user(node_folder, "clerk", "--clearance", "군사III급비밀")
        headers = {"Authorization": f"Bearer {token}"}
        act = {"type": "notify_termination"}
        with ServedNode(node_folder, tmp_path / "serve.log") as served, httpx.Client(base_url=served.url) as http:
            refused = http.post("/api/v1/agreements/JPN-ROK-GSOMIA-2016/events", json=act, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"][0]["roles"] == ["officer"]


class TestMigrate:
    """`pactnet node migrate` brings a node's database to the schema this pactnet needs."""

    def test_a_node_at_the_newest_schema_is_left_as_it_is(self, node_folder: Path) -> None:
        run = pactnet("node", "migrate", str(node_folder))
        assert run.code == 0, run.output
        assert f"at schema revision {head_revision()} already" in run.stdout

    def test_a_node_of_an_older_schema_is_migrated_and_then_starts(self, node_folder: Path) -> None:
        engine = create(f"sqlite:///{node_folder / 'node.db'}")
        try:  # back to the schema before roles, as an older pactnet left it (Alembic's own downgrade)
            config = Config()
            config.set_main_option("script_location", str(resources.files("pactnet.store") / "migrations"))
            config.attributes["engine"] = engine
            command.downgrade(config, "0005")
        finally:
            engine.dispose()
        refused = pactnet("audit", "verify", str(node_folder))
        _clean_failure(refused)
        assert "pactnet node migrate" in refused.stderr
        run = pactnet("node", "migrate", str(node_folder))
        assert run.code == 0, run.output
        assert f"from schema revision 0005 to {head_revision()}" in run.stdout
        assert pactnet("audit", "verify", str(node_folder)).code == 0

    def test_a_folder_that_is_no_node_exits_2(self, tmp_path: Path) -> None:
        _clean_failure(pactnet("node", "migrate", str(tmp_path / "nothing")))


class TestAudit:
    """`pactnet audit` verifies, exports and checkpoints the log of a node's folder."""

    def test_a_fresh_node_is_intact(self, made: tuple[Path, Run]) -> None:
        folder, _ = made
        run = pactnet("audit", "verify", str(folder))
        assert run.code == 0, run.output
        assert run.stdout.startswith("intact")

    def test_an_entry_changed_in_the_database_file_exits_1_naming_it(self, node_folder: Path) -> None:
        add_user(node_folder, "alice")
        _sql(node_folder / "node.db", "UPDATE audit_entries SET actor = 'x' WHERE seq = 2")
        run = pactnet("audit", "verify", str(node_folder))
        assert run.code == 1, run.output
        assert "entry 2" in run.stdout
        assert "Traceback" not in run.output
        as_json, report = _verify(node_folder)
        assert as_json.code == 1
        assert report["intact"] is False
        assert report["first_bad_seq"] == 2

    def test_json_of_an_intact_log_has_no_first_bad_entry(self, made: tuple[Path, Run]) -> None:
        folder, _ = made
        run, report = _verify(folder)
        assert run.code == 0, run.output
        assert report["intact"] is True
        assert report["first_bad_seq"] is None

    def test_export_writes_json_lines_opening_with_the_format_header(self, node_folder: Path, tmp_path: Path) -> None:
        add_user(node_folder, "alice")
        target = tmp_path / "audit.jsonl"
        run = pactnet("audit", "export", str(node_folder), "-o", str(target))
        assert run.code == 0, run.output
        lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
        assert lines[0]["header"]["format"] == "pactnet.audit-export/1"
        assert lines[0]["header"]["party"] == "ROK"
        entries = [line["entry"] for line in lines if "entry" in line]
        assert [entry["kind"] for entry in entries] == ["node-created", "user-added"]
        assert "2 entries" in run.stdout

    def test_export_into_a_missing_folder_exits_2(self, made: tuple[Path, Run], tmp_path: Path) -> None:
        folder, _ = made
        run = pactnet("audit", "export", str(folder), "-o", str(tmp_path / "missing" / "audit.jsonl"))
        _clean_failure(run)
        assert "cannot write" in run.stderr

    def test_checkpoint_signs_the_last_entry_and_verify_counts_it(self, node_folder: Path) -> None:
        run = pactnet("audit", "checkpoint", str(node_folder))
        assert run.code == 0, run.output
        assert run.stdout.startswith("checkpoint at entry 1:")
        verified, report = _verify(node_folder)
        assert verified.code == 0, verified.output
        assert report["checkpoints"] == 1

    def test_verify_on_a_folder_that_is_not_a_node_exits_2(self, tmp_path: Path) -> None:
        run = pactnet("audit", "verify", str(tmp_path))
        _clean_failure(run)
        assert "pactnet node init" in run.stderr


class TestJsonEverywhere:
    """The folder commands print JSON for scripts with `--json`."""

    def test_init_migrate_disable_and_checkpoint(self, tmp_path: Path) -> None:
        folder = tmp_path / "rok"
        made = init(folder, "--json")
        assert made.code == 0, made.output
        assert json.loads(made.stdout) | {"folder": ""} == {
            "party": "ROK",
            "folder": "",
            "world": "gsomia-2019",
            "database": f"sqlite:///{(folder / 'node.db').resolve()}",
        }
        migrated = pactnet("node", "migrate", str(folder), "--json")
        assert json.loads(migrated.stdout) == {"from": head_revision(), "to": head_revision(), "migrated": False}
        add_user(folder, "alice")
        disabled = pactnet("user", "disable", str(folder), "alice", "--json")
        assert json.loads(disabled.stdout) == {"name": "alice", "disabled": True}
        marked = pactnet("audit", "checkpoint", str(folder), "--json")
        assert marked.code == 0, marked.output
        assert set(json.loads(marked.stdout)) == {"seq", "hash", "at", "key", "signature"}
