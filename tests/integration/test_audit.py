"""The audit log detects every way an insider could rewrite it in the database directly."""

from __future__ import annotations

import json
from io import StringIO
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import delete, insert, select, text, update

from pactnet.audit.chain import Checkpoint, Entry, verify_chain
from pactnet.crypto.keys import NodeKeys
from pactnet.services import audit
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.tables import audit_checkpoints, audit_entries, audit_head

if TYPE_CHECKING:
    from pactnet.node import Node


def _fill(node: Node, reports: int = 6) -> None:
    user, _ = add_user(node, "officer", "군사II급비밀", [])
    for index in range(reports):
        publish(node, user, Publication(title=f"r{index}", level="군사III급비밀", categories=["dprk-missile"]))


def _verify(node: Node) -> tuple[bool, int | None, str | None]:
    result = audit.verify(node)
    return result.intact, result.first_bad, result.problem


class TestAnIntactLog:
    """A log written by the node verifies, and every write leaves it verifiable."""

    def test_a_fresh_node_has_an_intact_log(self, node: Node) -> None:
        assert _verify(node) == (True, None, None)

    def test_publishing_appends_one_entry_per_act_and_decision(self, node: Node) -> None:
        _fill(node, reports=2)
        result = audit.verify(node)
        # node start + user added + 2 x (publish + 2 decisions)
        assert result.intact
        assert result.entries == 1 + 1 + 2 * 3

    def test_checkpoints_are_signed_every_n_entries(self, node: Node) -> None:
        node.audit.checkpoint_every = 4
        _fill(node, reports=3)
        result = audit.verify(node)
        assert result.intact
        assert result.checkpoints == result.entries // 4


class TestTampering:
    """Each kind of tampering is found, and the first wrong entry is named."""

    def test_a_changed_entry_is_found(self, node: Node) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            connection.execute(update(audit_entries).where(audit_entries.c.seq == 5).values(actor="someone else"))
        intact, first_bad, problem = _verify(node)
        assert (intact, first_bad) == (False, 5)
        assert problem is not None
        assert "changed" in problem

    def test_a_removed_entry_is_found(self, node: Node) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            connection.execute(delete(audit_entries).where(audit_entries.c.seq == 7))
        assert _verify(node)[:2] == (False, 7)

    def test_an_inserted_entry_is_found(self, node: Node) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            rows = connection.execute(select(audit_entries).where(audit_entries.c.seq >= 4)).all()
            connection.execute(delete(audit_entries).where(audit_entries.c.seq >= 4))
            forged = Entry(4, rows[0].at, "read", "ghost", "x", "{}", rows[0].prev, "0" * 64)
            connection.execute(
                insert(audit_entries),
                [
                    {
                        "seq": forged.seq,
                        "at": forged.at,
                        "kind": forged.kind,
                        "actor": forged.actor,
                        "subject": forged.subject,
                        "data": forged.data_json,
                        "prev": forged.prev,
                        "hash": forged.recomputed_hash(),
                    },
                    *({**row._asdict(), "seq": row.seq + 1} for row in rows),
                ],
            )
        intact, first_bad, _ = _verify(node)
        assert not intact
        assert first_bad is not None
        assert 4 <= first_bad <= 5

    def test_reordered_entries_are_found(self, node: Node) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            connection.execute(update(audit_entries).where(audit_entries.c.seq == 6).values(seq=-6))
            connection.execute(update(audit_entries).where(audit_entries.c.seq == 7).values(seq=6))
            connection.execute(update(audit_entries).where(audit_entries.c.seq == -6).values(seq=7))
        assert _verify(node)[:2] == (False, 6)

    def test_a_truncated_tail_is_found(self, node: Node) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            last = connection.execute(select(audit_head.c.seq)).scalar_one()
            connection.execute(delete(audit_entries).where(audit_entries.c.seq > last - 3))
        intact, first_bad, problem = _verify(node)
        assert (intact, first_bad) == (False, last - 2)
        assert problem is not None
        assert "tail" in problem

    def test_a_recomputed_chain_still_fails_the_signed_head(self, node: Node) -> None:
        """An insider who rewrites an entry and re-hashes every later one cannot forge the node's signature."""
        _fill(node)
        with node.uow.transaction() as connection:
            rows = connection.execute(select(audit_entries).order_by(audit_entries.c.seq)).all()
            prev = rows[2].prev
            for row in rows[2:]:
                actor = "forger" if row.seq == rows[2].seq else row.actor
                entry = Entry(row.seq, row.at, row.kind, actor, row.subject, row.data, prev, "")
                new_hash = entry.recomputed_hash()
                connection.execute(
                    update(audit_entries)
                    .where(audit_entries.c.seq == row.seq)
                    .values(actor=actor, prev=prev, hash=new_hash)
                )
                prev = new_hash
        intact, _, problem = _verify(node)
        assert not intact
        assert problem is not None
        assert "head" in problem

    def test_a_removed_head_is_found(self, node: Node) -> None:
        _fill(node)
        with node.uow.transaction() as connection:
            connection.execute(delete(audit_head))
        assert not _verify(node)[0]

    def test_a_checkpoint_signed_by_another_key_is_found(self, node: Node) -> None:
        node.audit.checkpoint_every = 2
        _fill(node, reports=2)
        other = NodeKeys.generate()
        with node.uow.transaction() as connection:
            row = connection.execute(select(audit_checkpoints).limit(1)).one()
            forged = Checkpoint.sign(other, row.seq, row.hash, row.at)
            connection.execute(
                update(audit_checkpoints).where(audit_checkpoints.c.seq == row.seq).values(**forged.as_dict())
            )
        intact, first_bad, _ = _verify(node)
        assert (intact, first_bad) == (False, row.seq)


class TestExport:
    """An exported log can be checked by a partner with only the node's public key."""

    def test_an_exported_log_verifies_offline(self, node: Node) -> None:
        node.audit.checkpoint_every = 3
        _fill(node, reports=3)
        buffer = StringIO()
        count = audit.export(node, buffer)
        records = [json.loads(line) for line in buffer.getvalue().splitlines()]
        header = records[0]["header"]
        assert header["format"] == "pactnet.audit-export/1"
        entries = [
            Entry(
                record["entry"]["seq"],
                record["entry"]["at"],
                record["entry"]["kind"],
                record["entry"]["actor"],
                record["entry"]["subject"],
                json.dumps(record["entry"]["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                record["entry"]["prev"],
                record["entry"]["hash"],
            )
            for record in records
            if "entry" in record
        ]
        marks = [Checkpoint(**record["checkpoint"]) for record in records if "checkpoint" in record]
        head = next(Checkpoint(**record["head"]) for record in records if "head" in record)
        assert len(entries) == count
        assert verify_chain(entries, marks, head, node.keys.public_signing).intact
        assert not verify_chain(entries, marks, head, NodeKeys.generate().public_signing).intact


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET kind = 'read' WHERE seq = 2"])
def test_a_raw_sql_change_is_found(node: Node, statement: str) -> None:
    _fill(node, reports=1)
    with node.uow.transaction() as connection:
        connection.execute(text(statement))
    assert _verify(node)[:2] == (False, 2)
