"""Reading reports as a user: one, a page of them, the decisions taken on one; each read audited.

What a user may not read is NotFoundError, exactly as a missing report, and audited as a refused read: a
report above the user's clearance or outside their compartments does not show, even as a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select

from pactnet.audit.chain import AuditRecord
from pactnet.services import InvalidInputError, NotFoundError
from pactnet.services.cursors import open_cursor, seal_cursor
from pactnet.store.instants import instant_text
from pactnet.store.reports import report_by_id
from pactnet.store.tables import decisions, report_categories, reports

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row, Select

    from pactnet.services.context import Node
    from pactnet.services.users import User


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """The filters of a report listing."""

    originator: str | None = None
    category: str | None = None
    level: str | None = None
    since: datetime | None = None


def _view(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "originator": row.originator,
        "received_from": row.received_from,
        "title": row.title,
        "level": row.level,
        "precedence": row.precedence,
        "categories": row.categories,
        "rel_to": row.rel_to,
        "compartments": row.compartments,
        "created_at": row.created_at,
        "body_type": row.body_type,
        "body": row.body,
    }


def readable_row(connection: Connection, user: User | None, report_id: str) -> Row[Any] | None:
    """A stored report the user may know of (None: the operator, at the command line), or None."""
    row = report_by_id(connection, report_id)
    if row is None or (user is not None and not user.may_see(row.level_rank, row.compartments)):
        return None
    return row


def held_row(connection: Connection, user: User | None, report_id: str) -> Row[Any]:
    """A stored report the user may know of; NotFoundError, exactly as for a missing report, otherwise."""
    row = readable_row(connection, user, report_id)
    if row is None:
        raise NotFoundError(f"no report {report_id!r}")
    return row


def get_report(node: Node, user: User, report_id: str) -> dict[str, Any]:
    """A report the user is cleared for; anything else is NotFoundError, exactly as a missing report, and audited."""
    when = instant_text(node.now())

    def write(connection: Connection) -> Row[Any] | None:
        row = readable_row(connection, user, report_id)
        kind = "read" if row is not None else "refused-read"
        node.audit.append(connection, when, [AuditRecord(kind, user.name, report_id[:200], {})])
        return row

    row = node.uow.write(write)
    if row is None:
        raise NotFoundError(f"no report {report_id!r}")
    return _view(row)


def _listing(node: Node, user: User, wanted: ReportFilter) -> Select[Any]:
    """Reports at or below the user's clearance that match the filters, newest first.

    Compartments are checked row by row: they are a set, not a rank. The level filter is the level, whichever
    label names it: an item published under an alias has the rank of the level the alias stands for.
    """
    query = select(reports).where(reports.c.level_rank <= user.rank).order_by(reports.c.seq.desc())
    if wanted.originator is not None:
        query = query.where(reports.c.originator == wanted.originator)
    if wanted.level is not None:
        scheme = node.world.parties[node.party]
        if scheme.level_of(wanted.level) is None:
            raise InvalidInputError(f"level {wanted.level!r} is not a level of {node.party}")
        query = query.where(reports.c.level_rank == scheme.rank(wanted.level))
    if wanted.since is not None:
        query = query.where(reports.c.created_at >= instant_text(wanted.since))
    if wanted.category is not None:
        in_category = report_categories.c.category == wanted.category
        query = query.where(exists().where(report_categories.c.report_seq == reports.c.seq, in_category))
    return query


def list_reports(
    node: Node, user: User, wanted: ReportFilter, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Reports the user is cleared for, newest first, a page at a time; the listing is audited."""
    before = open_cursor(node.keys, cursor, user.id)
    query = _listing(node, user, wanted)
    when = instant_text(node.now())

    def write(connection: Connection) -> tuple[list[dict[str, Any]], str | None]:
        page: list[dict[str, Any]] = []
        last: int | None = before
        more = False
        batch = limit + 1
        while True:
            rows = connection.execute((query if last is None else query.where(reports.c.seq < last)).limit(batch)).all()
            for row in rows:
                if user.compartments.issuperset(row.compartments):
                    if len(page) == limit:
                        more = True
                        break
                    page.append(_view(row))
                last = row.seq
            if more or len(rows) < batch:
                break
        data = {"returned": [item["id"] for item in page]}
        node.audit.append(connection, when, [AuditRecord("list", user.name, "reports", data)])
        return page, (seal_cursor(node.keys, last, user.id) if more and last is not None else None)

    return node.uow.write(write)


def rows_about(
    node: Node, user: User, report_id: str, query: Select[Any], audited_as: str | None = None
) -> list[Row[Any]]:
    """The rows of `query` about a report the user may read (the read audited as `audited_as`, if given).

    A report the user may not read is NotFoundError, exactly as a missing one, and audited as a refused read.
    """
    when = instant_text(node.now())

    def write(connection: Connection) -> list[Row[Any]] | None:
        if readable_row(connection, user, report_id) is None:
            node.audit.append(connection, when, [AuditRecord("refused-read", user.name, report_id[:200], {})])
            return None
        if audited_as is not None:
            node.audit.append(connection, when, [AuditRecord(audited_as, user.name, report_id, {})])
        return list(connection.execute(query).all())

    rows = node.uow.write(write)
    if rows is None:
        raise NotFoundError(f"no report {report_id!r}")
    return rows


def decision_trail(node: Node, user: User, report_id: str) -> list[dict[str, Any]]:
    """Every decision taken on a report the user may read, oldest first."""
    query = select(decisions).where(decisions.c.report_id == report_id).order_by(decisions.c.seq)
    found = rows_about(node, user, report_id, query)
    return [
        {
            "report": row.report_id,
            "holder": row.holder,
            "to": row.recipient,
            "at": row.at,
            "allowed": row.allowed,
            "route": row.route,
            "legs": row.legs,
            "marking": row.marking,
            "reasons": row.reasons,
            "asked_by": row.asked_by,
        }
        for row in found
    ]
