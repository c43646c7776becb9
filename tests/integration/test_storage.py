"""The database: migrations match the tables, a write is all or nothing, and a foreign schema is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, func, select, text

from pactnet.node import NodeError, init_node, open_node
from pactnet.services import audit
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store import database
from pactnet.store.audit_log import read_entries
from pactnet.store.database import StoreError
from pactnet.store.tables import audit_head, decisions, metadata, reports

if TYPE_CHECKING:
    from pathlib import Path

    from pactnet.node import Node


class TestMigrations:
    """The migrations build exactly the tables the code declares, on both databases."""

    def test_the_migrated_schema_matches_the_declared_tables(self, node: Node) -> None:
        with node.uow.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == []

    def test_a_database_at_an_unknown_revision_is_refused(self, node: Node, folder: Path) -> None:
        with node.uow.transaction() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        node.close()
        with pytest.raises(StoreError, match="9999_future"):
            open_node(folder)

    def test_a_database_without_a_schema_is_refused(self, tmp_path: Path) -> None:
        engine = database.create(f"sqlite:///{tmp_path / 'empty.db'}")
        with pytest.raises(StoreError, match="no pactnet schema"):
            database.check_schema(engine)
        engine.dispose()


class TestAtomicWrites:
    """A report, its decisions and its audit entries commit together or not at all."""

    def test_a_publish_whose_audit_append_fails_leaves_nothing(self, node: Node) -> None:
        user, _ = add_user(node, "officer", "군사II급비밀", [])
        with node.uow.transaction() as connection:
            connection.execute(delete(audit_head))  # the audit append cannot find its head
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises, nothing may remain
            publish(node, user, Publication(title="lost", level="군사II급비밀", categories=["dprk-missile"]))
        with node.uow.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(reports)).scalar_one() == 0
            assert connection.execute(select(func.count()).select_from(decisions)).scalar_one() == 0


class TestStartingANode:
    """A node refuses to start, with a clear message, on anything that is not right."""

    def test_missing_keys_are_named(self, folder: Path) -> None:
        (folder / "signing.key").unlink()
        with pytest.raises(Exception, match=r"signing\.key"):
            open_node(folder)

    def test_a_world_that_does_not_validate_is_refused(self, folder: Path, tmp_path: Path) -> None:
        broken = tmp_path / "broken.toml"
        broken.write_text('format = "pactnet.world/1"\n[parties.ROK]\nlevels = []\n', encoding="utf-8")
        config = (folder / "node.toml").read_text(encoding="utf-8")
        (folder / "node.toml").write_text(
            config.replace('world = "gsomia-2019"', f'world = "{broken}"'), encoding="utf-8"
        )
        with pytest.raises(NodeError, match="does not validate"):
            open_node(folder)

    def test_an_unknown_setting_is_named(self, folder: Path) -> None:
        with (folder / "node.toml").open("a", encoding="utf-8") as file:
            file.write("colour = 1\n")
        with pytest.raises(NodeError, match="colour"):
            open_node(folder)

    def test_a_folder_is_not_initialised_twice(self, folder: Path) -> None:
        with pytest.raises(NodeError, match="already a node folder"):
            init_node(folder, "gsomia-2019", "ROK", None)

    def test_private_keys_are_readable_by_the_owner_only(self, folder: Path) -> None:
        for name in ("signing.key", "encryption.key"):
            assert (folder / name).stat().st_mode & 0o077 == 0


class TestConfigurationChanges:
    """A change of the node's settings is recorded in the audit log when the node next starts."""

    def test_a_changed_setting_is_audited_once(self, node: Node, folder: Path) -> None:
        node.close()
        config = (folder / "node.toml").read_text(encoding="utf-8")
        (folder / "node.toml").write_text(config.replace("checkpoint_every = 1000", "checkpoint_every = 10"), "utf-8")
        for _ in range(2):
            reopened = open_node(folder)
            with reopened.uow.engine.connect() as connection:
                kinds = [entry.kind for entry in read_entries(connection)]
            reopened.close()
        assert kinds.count("config-changed") == 1
        assert audit_verify_intact(folder)


def audit_verify_intact(folder: Path) -> bool:
    reopened = open_node(folder)
    try:
        return audit.verify(reopened).intact
    finally:
        reopened.close()
