"""A node's own key rotation: new keys in place, the old ones on record, and an audit log that still verifies."""

from __future__ import annotations

import stat
import tomllib
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from pactnet.audit.chain import KEY_ROTATED, Checkpoint
from pactnet.audit.trust import RETIRED_KEYS_FILE
from pactnet.crypto.identity import verify_rotation
from pactnet.crypto.keys import NodeKeys, b64
from pactnet.node import open_node, rotate_node_keys
from pactnet.services import audit
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.tables import audit_checkpoints, audit_entries

if TYPE_CHECKING:
    from pathlib import Path

    from pactnet.node import Node
    from tests.integration.conftest import Clock


def _fill(node: Node, name: str, reports: int = 3) -> None:
    node.audit.checkpoint_every = 2
    user, _ = add_user(node, name, "군사II급비밀", [])
    for index in range(reports):
        publish(node, user, Publication(title=f"r{index}", level="군사III급비밀", categories=["dprk-missile"]))


@pytest.fixture
def rotated(folder: Path, clock: Clock) -> tuple[NodeKeys, dict[str, object]]:
    """The node's keys before a rotation, and the statement the rotation printed, with checkpoints on both sides."""
    node = open_node(folder, clock)
    try:
        _fill(node, "before")
    finally:
        node.close()
    old = NodeKeys.load(folder)
    clock.advance(days=1)
    statement = rotate_node_keys(folder, clock)
    node = open_node(folder, clock)
    try:
        _fill(node, "after")
    finally:
        node.close()
    return old, statement


class TestRotateKeys:
    """`rotate_node_keys` replaces the keys, keeps the old ones on record, and vouches for the new ones."""

    def test_the_statement_is_signed_by_the_old_key_for_the_new_one(
        self, folder: Path, rotated: tuple[NodeKeys, dict[str, object]]
    ) -> None:
        old, statement = rotated
        new = NodeKeys.load(folder)
        rotation = verify_rotation(dict(statement), old.public_signing)
        assert (rotation.signing_key, rotation.encryption_key) == (new.public_signing, new.public_encryption)
        assert new.public_signing != old.public_signing

    @pytest.mark.parametrize("key", ["signing.key", "encryption.key"])
    @pytest.mark.usefixtures("rotated")
    def test_the_new_key_files_are_the_owners_only(self, folder: Path, key: str) -> None:
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600
        assert not [path.name for path in folder.iterdir() if path.name.startswith(".")]

    def test_the_old_public_keys_are_recorded_with_the_statement(
        self, folder: Path, rotated: tuple[NodeKeys, dict[str, object]]
    ) -> None:
        old, statement = rotated
        record = tomllib.loads((folder / RETIRED_KEYS_FILE).read_text(encoding="utf-8"))["retired_keys"]
        assert [entry["signing_key"] for entry in record] == [b64(old.public_signing)]
        assert record[0]["encryption_key"] == b64(old.public_encryption)
        assert record[0]["retired_at"] == statement["rotated_at"]


class TestTheAuditLogAcrossARotation:
    """Checkpoints signed before the rotation verify with the retired key, and only those."""

    @pytest.mark.usefixtures("rotated")
    def test_the_log_verifies_after_a_rotation(self, folder: Path, clock: Clock) -> None:
        node = open_node(folder, clock)
        try:
            result = audit.verify(node)
            with node.uow.engine.connect() as connection:
                kinds = connection.execute(select(audit_entries.c.kind)).scalars().all()
        finally:
            node.close()
        assert result.intact, result.problem
        assert result.checkpoints >= 4
        assert KEY_ROTATED in kinds

    @pytest.mark.usefixtures("rotated")
    def test_the_log_verifies_after_two_rotations(self, folder: Path, clock: Clock) -> None:
        clock.advance(days=1)
        rotate_node_keys(folder, clock)
        node = open_node(folder, clock)
        try:
            _fill(node, "later")
            assert audit.verify(node).intact
        finally:
            node.close()

    def test_a_checkpoint_signed_by_the_retired_key_after_the_rotation_is_found(
        self, folder: Path, rotated: tuple[NodeKeys, dict[str, object]], clock: Clock
    ) -> None:
        old, _ = rotated
        node = open_node(folder, clock)
        try:
            with node.uow.transaction() as connection:
                rotation_seq = connection.execute(
                    select(audit_entries.c.seq).where(audit_entries.c.kind == KEY_ROTATED)
                ).scalar_one()
                row = connection.execute(
                    select(audit_checkpoints).where(audit_checkpoints.c.seq > rotation_seq).limit(1)
                ).one()
                forged = Checkpoint.sign(old, row.seq, row.hash, row.at)
                connection.execute(
                    update(audit_checkpoints).where(audit_checkpoints.c.seq == row.seq).values(**forged.as_dict())
                )
            result = audit.verify(node)
        finally:
            node.close()
        assert (result.intact, result.first_bad) == (False, row.seq)

    def test_new_keys_put_in_place_without_a_recorded_rotation_fail_verification(
        self, folder: Path, clock: Clock
    ) -> None:
        node = open_node(folder, clock)
        try:
            _fill(node, "before")
        finally:
            node.close()
        for name in ("signing.key", "encryption.key"):
            (folder / name).unlink()
        NodeKeys.generate().save(folder)
        node = open_node(folder, clock)
        try:
            assert not audit.verify(node).intact
        finally:
            node.close()
