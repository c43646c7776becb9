"""One transaction's share of a batch received: what it looked up at once, and the rows and records it holds back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select

from pactnet.services.answers import envelope_row, refusal
from pactnet.services.records import INSERT_CATEGORIES, category_rows
from pactnet.services.stix_index import index_reports
from pactnet.services.stix_versions import forward_versions
from pactnet.store.instants import instant_text
from pactnet.store.outbox import TRANSFER
from pactnet.store.tables import decisions, envelopes, reports

if TYPE_CHECKING:
    from sqlalchemy import Connection, Insert

    from pactnet.audit.chain import AuditRecord
    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.policy.model import World
    from pactnet.services.acceptance import Acceptance
    from pactnet.services.context import Node

# Statements built once: building them per envelope cost about as much as running them.
_SEEN = select(envelopes.c.id, envelopes.c.sender, envelopes.c.answer).where(
    envelopes.c.id.in_(bindparam("ids", expanding=True))
)
_STORED = select(reports.c.origin_id, reports.c.id, reports.c.level).where(
    reports.c.originator == bindparam("originator"),
    reports.c.origin_id.in_(bindparam("origin_ids", expanding=True)),
)
# In the order a chunk writes them: a report before its categories and decisions, which name it.
_INSERT_REPORT = insert(reports)
_INSERT_DECISION = insert(decisions)
_INSERT_ENVELOPE = insert(envelopes)
_INSERTS = (_INSERT_REPORT, INSERT_CATEGORIES, _INSERT_DECISION, _INSERT_ENVELOPE)


@dataclass(frozen=True, slots=True)
class Seen:
    """An envelope id answered already: who sent it, and the answer a replay gets."""

    sender: str
    answer: dict[str, Any]


class ChunkWrite:
    """One transaction's share of a batch: what it looked up at once, and the rows and records it holds back.

    Receiving a transfer took about seven statements, and SQLAlchemy's work around each cost more than SQLite's;
    each also let the other threads take the interpreter lock from the writer. A chunk looks its envelope ids and
    items up with a statement or two, and inserts what its transfers add with one executemany per table when it
    ends. It writes what it holds before anything that writes on its own (a lifecycle act, a relay's outbox row),
    so the log and the tables keep the envelopes' order.
    """

    def __init__(self, node: Node, connection: Connection) -> None:
        self.node = node
        self.connection = connection
        self.seen: dict[str, Seen] = {}
        self.stored: dict[tuple[str, str], tuple[str, str]] = {}
        self.rows: dict[Insert, list[dict[str, Any]]] = {statement: [] for statement in _INSERTS}
        self.records: list[AuditRecord] = []
        self._world: World | None = None

    def look_up(self, opened: list[Opened]) -> None:
        """Read which of these envelope ids were answered already, and which of their items this node holds."""
        wanted: dict[str, set[str]] = {}
        for one in opened:
            self.seen.pop(one.id, None)
            item = _item_named(one)
            if item is not None:
                self.stored.pop(item, None)
                wanted.setdefault(item[0], set()).add(item[1])
        if opened:
            for row in self.connection.execute(_SEEN, {"ids": [one.id for one in opened]}):
                self.seen[row.id] = Seen(row.sender, row.answer)
        for originator, origin_ids in wanted.items():
            for row in self.connection.execute(_STORED, {"originator": originator, "origin_ids": sorted(origin_ids)}):
                self.stored[(originator, row.origin_id)] = (row.id, row.level)

    def world(self) -> World:
        """The world to decide with, read again (`Node.refresh`) once per chunk and after anything that changes it."""
        if self._world is None:
            self._world = self.node.refresh(self.connection)
        return self._world

    def forget_world(self) -> None:
        """Read the world again before the next decision: what was just written changes it."""
        self._world = None

    def take_item(self, accepted: Acceptance) -> None:
        """Hold back the rows that store an accepted item (if new here) and its decision."""
        if accepted.report is not None:
            self.rows[_INSERT_REPORT].append(accepted.report)
            self.rows[INSERT_CATEGORIES] += category_rows(accepted.report_id, accepted.report["categories"])
            self.stored[accepted.item] = (accepted.report_id, accepted.level)
        self.rows[_INSERT_DECISION].append(accepted.decision)

    def take_answer(self, opened: Opened, accepted: Acceptance) -> dict[str, Any]:
        """Hold back the envelope's row and the audit records of an accepted transfer; its signed receipt."""
        answer = accepted.answer
        if answer is None:
            raise RuntimeError("an acceptance is taken once its receipt is sealed")
        self.rows[_INSERT_ENVELOPE].append(envelope_row(self.node, opened, "accepted", accepted.report_id, [], answer))
        self.records += accepted.audit
        return answer

    def write(self, *, give_way: bool = False) -> None:
        """Insert the rows held back, then append the audit records, in the envelopes' order.

        With `give_way` (the last write of a routine chunk, most of its transaction), an urgent write waiting
        for the writer is let through between two statements: this transaction is rolled back, and the chunk
        written anew after it (GroupCommitter.give_way_to_urgent).
        """
        writer = self.node.uow.writer
        stored: list[dict[str, Any]] = []
        for statement, rows in self.rows.items():
            if rows:
                if give_way:
                    writer.give_way_to_urgent()
                self.connection.execute(statement, rows)
                if statement is _INSERT_REPORT:  # the TAXII collections hold what is received too
                    index_reports(self.connection, self.node.party, rows, instant_text(self.node.now()))
                    stored = list(rows)
                rows.clear()
        if stored:  # a new version of an object passed on before goes where the earlier ones went
            self.records += forward_versions(self.connection, self.node, self.world(), stored, self.node.now())
        if self.records:
            if give_way:
                writer.give_way_to_urgent()
            self.node.audit.append(self.connection, instant_text(self.node.now()), self.records)
            self.records = []

    def drop(self) -> None:
        """Forget what is held back: its savepoint was rolled back."""
        for rows in self.rows.values():
            rows.clear()
        self.records = []
        self._world = None


def _item_named(opened: Opened) -> tuple[str, str] | None:
    """The (originator, id) a transfer envelope names, if it names one; checked later, by read_transfer."""
    report = opened.payload.get("report") if opened.kind == TRANSFER else None
    if not isinstance(report, dict):
        return None
    originator, origin_id = report.get("originator"), report.get("id")
    if isinstance(originator, str) and isinstance(origin_id, str):
        return originator, origin_id
    return None


def refused(write: ChunkWrite, partner: Partner, opened: Opened, reasons: list[dict[str, str]]) -> dict[str, Any]:
    """The signed refusal of a verified envelope, its row and audit record held back with the chunk's."""
    made = refusal(write.node, partner, opened, reasons)
    write.rows[_INSERT_ENVELOPE].append(made.row)
    write.records.append(made.audit)
    return made.answer
