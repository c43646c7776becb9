"""The audit log's first key is anchored outside the log: a rewrite signed by another key is reported (issue 17)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from pactnet.audit.chain import GENESIS, Checkpoint, chain_entry, verify_chain
from pactnet.audit.trust import RETIRED_KEYS_FILE
from pactnet.crypto.keys import NodeKeys, b64, fingerprint
from pactnet.node import open_node, rotate_node_keys
from pactnet.services import audit
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.tables import audit_entries
from tests.cli.runner import pactnet
from tests.integration.audit_tampering import forge_rewrite

if TYPE_CHECKING:
    from pathlib import Path

    from pactnet.node import Node
    from tests.integration.conftest import Clock


def _fill(node: Node, name: str = "officer", reports: int = 4) -> None:
    node.audit.checkpoint_every = 4
    user, _ = add_user(node, name, "군사II급비밀", [])
    for index in range(reports):
        publish(node, user, Publication(title=f"r{index}", level="군사III급비밀", categories=["dprk-missile"]))


def _entries(node: Node) -> int:
    with node.uow.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(audit_entries)).scalar_one())


class TestAKeyForgedRewrite:
    """A log rewritten and signed by an attacker's key, with a rotation from it to the node's key, is reported."""

    def test_a_rewrite_whose_rotation_leads_from_an_attacker_key_to_the_node_key_is_reported(
        self, node: Node, clock: Clock
    ) -> None:
        """The attack as found: entries dropped and renumbered, a forged rotation, the head signed by the attacker."""
        _fill(node)
        attacker = NodeKeys.generate()
        with node.uow.transaction() as connection:
            forge_rewrite(connection, node.keys, attacker, {3, 4, 5}, clock())
        result = audit.verify(node)
        assert not result.intact
        assert result.problem is not None
        assert "first key" in result.problem
        assert fingerprint(attacker.public_signing) in result.problem

    def test_the_same_rewrite_after_a_real_rotation_is_reported(self, folder: Path, clock: Clock) -> None:
        """A genuine rotation on record does not let a forged one lead back to another key."""
        node = open_node(folder, clock)
        try:
            _fill(node)
        finally:
            node.close()
        clock.advance(days=1)
        rotate_node_keys(folder, clock)
        node = open_node(folder, clock)
        try:
            _fill(node, "after")
            with node.uow.transaction() as connection:
                forge_rewrite(connection, node.keys, NodeKeys.generate(), {2}, clock())
            result = audit.verify(node)
        finally:
            node.close()
        assert not result.intact
        assert result.problem is not None
        assert "first key" in result.problem

    def test_an_honest_log_across_a_rotation_names_its_first_key(self, folder: Path, clock: Clock) -> None:
        first = NodeKeys.load(folder)
        clock.advance(days=1)
        rotate_node_keys(folder, clock)
        node = open_node(folder, clock)
        try:
            _fill(node)
            result = audit.verify(node, expect_key=fingerprint(first.public_signing))
        finally:
            node.close()
        assert result.intact, result.problem
        assert result.as_dict()["first_key"] == fingerprint(first.public_signing)

    def test_a_log_that_does_not_begin_with_the_expected_key_is_reported(self, node: Node) -> None:
        _fill(node)
        expected = fingerprint(NodeKeys.generate().public_signing)
        result = audit.verify(node, expect_key=expected)
        assert not result.intact
        assert result.problem is not None
        assert expected in result.problem

    def test_a_rewritten_folder_and_log_is_reported_against_the_key_partners_trusted(
        self, node: Node, clock: Clock
    ) -> None:
        """An attacker who also rewrites retired_keys.toml moves the folder's anchor, not the partners' one."""
        _fill(node)
        genuine = fingerprint(node.keys.public_signing)
        attacker = NodeKeys.generate()
        with node.uow.transaction() as connection:
            forge_rewrite(connection, node.keys, attacker, {2}, clock())
        (node.config.folder / RETIRED_KEYS_FILE).write_text(
            f'[[retired_keys]]\nsigning_key = "{b64(attacker.public_signing)}"\n', encoding="utf-8"
        )
        assert audit.verify(node).intact  # the folder is rewritten too: only an anchor outside it tells
        result = audit.verify(node, expect_key=genuine)
        assert not result.intact
        assert result.problem is not None
        assert genuine in result.problem


class TestTheCommand:
    """`pactnet audit verify` reports a forged rewrite, and writes nothing to the log it verifies."""

    def test_the_command_reports_a_key_forged_rewrite(self, node: Node, clock: Clock) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            forge_rewrite(connection, node.keys, NodeKeys.generate(), {2, 3}, clock())
        run = pactnet("audit", "verify", str(node.config.folder))
        assert run.code == 1, run.output
        assert "TAMPERED" in run.stdout
        assert "first key" in run.stdout

    def test_verifying_appends_nothing_even_when_the_settings_changed(self, node: Node) -> None:
        """Opening a node records a settings change; verifying it must not (issue 17, item 9)."""
        _fill(node)
        before = _entries(node)
        config = node.config.folder / "node.toml"
        config.write_text(config.read_text().replace("checkpoint_every = 1000", "checkpoint_every = 7"))
        run = pactnet("audit", "verify", str(node.config.folder), "--json")
        assert run.code == 0, run.output
        assert json.loads(run.stdout)["entries"] == before
        assert _entries(node) == before

    def test_an_expected_key_that_is_not_a_fingerprint_is_refused(self, node: Node) -> None:
        run = pactnet("audit", "verify", str(node.config.folder), "--expect-key", "not-a-fingerprint")
        assert run.code == 2
        assert "--expect-key" in run.output
        assert "Traceback" not in run.output


class TestTheGenesis:
    """Every log begins with the node's creation."""

    def test_a_log_signed_by_the_node_that_does_not_begin_with_its_creation_is_reported(self) -> None:
        keys = NodeKeys.generate()
        first = chain_entry(1, "2019-07-25T06:00:00.000000Z", "read", "ghost", "x", {}, GENESIS)
        head = Checkpoint.sign(keys, 1, first.hash, first.at)
        result = verify_chain([first], [], head, keys.public_signing)
        assert (result.intact, result.first_bad) == (False, 1)
        assert result.problem is not None
        assert "genesis" in result.problem
