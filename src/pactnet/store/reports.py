"""The stored reports as a repository: one by its id here, one by its originator's id, rows a clearance admits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from pactnet.store.tables import reports

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row, Select


class Clearance(Protocol):
    """What deciding whether someone may see a report needs of them (a user of the node)."""

    @property
    def rank(self) -> int:
        """The rank of their clearance in this party's scheme."""
        ...

    @property
    def compartments(self) -> frozenset[str]:
        """The compartments they hold."""
        ...


def report_by_id(connection: Connection, report_id: str) -> Row[Any] | None:
    """The stored report with this node's id, or None."""
    return connection.execute(select(reports).where(reports.c.id == report_id)).first()


def item_by_origin(connection: Connection, originator: str, origin_id: str) -> Row[Any] | None:
    """The stored copy of an item, named as its originator names it (one per item: stored once), or None."""
    query = select(reports).where(reports.c.originator == originator, reports.c.origin_id == origin_id)
    return connection.execute(query).first()


def newest_cleared(
    connection: Connection, query: Select[Any], clearance: Clearance | None, limit: int
) -> list[Row[Any]]:
    """At most `limit` rows of `query` about reports the clearance admits (None, the operator: every report).

    `query` is ordered newest first and joined with `reports`, whose compartments it names `report_compartments`.
    """
    if clearance is None:
        return list(connection.execute(query.limit(limit)).all())
    found: list[Row[Any]] = []
    for row in connection.execute(query.where(reports.c.level_rank <= clearance.rank)):
        if clearance.compartments.issuperset(row.report_compartments):  # a set, not a rank: checked row by row
            found.append(row)
            if len(found) == limit:
                break
    return found
