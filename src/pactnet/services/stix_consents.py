"""The consents a new version of a STIX object holds at its originator: those in force for the earlier versions.

The originator let those parties hold the object (a release consent) or a hub relay it (a relay consent); a
later version, or its revocation, is the same object, so it may follow the earlier ones there
(services.stix_versions). Apart from services.stix_versions so that publishing (services.reports) can call it
before deciding, without importing onward release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, or_, select

from pactnet.audit.chain import AuditRecord
from pactnet.policy.clock import parse_instant
from pactnet.services.consents import build_statement
from pactnet.services.stix_index import STIX_OBJECT, stix_instant, stored_object
from pactnet.store.acts import store_statement
from pactnet.store.instants import instant_text
from pactnet.store.tables import consents, reports, stix_objects

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.services.context import Node

_S = stix_objects.c
# The earlier versions of the objects published, by id alone: with the originator in the query too, SQLite (which
# keeps no statistics) walks every object of this party by the originator index, a cost that grows with the store.
# Built once, the ids bound when run: building `in_(ids)` per publish cost twice the query.
_EARLIER = (
    select(_S.stix_id, _S.version, _S.originator, reports.c.origin_id)
    .join(reports, reports.c.id == _S.report_id)
    .where(_S.stix_id.in_(bindparam("ids", expanding=True)))
)


def _object_version(row: dict[str, Any]) -> tuple[str, str] | None:
    """The STIX id and version (as the index stores it) of a report row that is one STIX object."""
    if row["body_type"] != STIX_OBJECT:
        return None
    obj = stored_object(row["body"])
    version = stix_instant(obj.get("modified")) or stix_instant(obj.get("created"))
    return None if version is None else (obj["id"], instant_text(version))


def carry_consents(
    connection: Connection, node: Node, published: Iterable[dict[str, Any]], at: datetime
) -> list[AuditRecord]:
    """At the originator, before deciding: grant again for each new version the consents in force for earlier ones.

    `published` are the report rows about to be stored. Each consent keeps its party or arrangement and its end;
    its statement is a new one, signed now, naming the new report, and travels with it like any other.
    """
    versions = {row["origin_id"]: found for row in published if (found := _object_version(row)) is not None}
    if not versions:
        return []
    stix_ids = sorted({stix_id for stix_id, _ in versions.values()})
    known = [row for row in connection.execute(_EARLIER, {"ids": stix_ids}) if row.originator == node.party]
    in_force = select(consents).where(
        consents.c.originator == node.party,
        consents.c.report.in_(sorted({row.origin_id for row in known})),
        or_(consents.c.until.is_(None), consents.c.until > instant_text(at)),
    )
    granted = connection.execute(in_force).all() if known else []
    audit: list[AuditRecord] = []
    for origin_id, (stix_id, version) in versions.items():
        before = {row.origin_id for row in known if row.stix_id == stix_id and row.version < version}
        wanted = {(row.to, row.arrangement, row.until) for row in granted if row.report in before}
        for to, arrangement, until in sorted(wanted, key=str):
            ends = None if until is None else parse_instant(until)
            statement = build_statement(node, origin_id, to, arrangement, at, ends)
            store_statement(connection, statement, at, ends)
            audit.append(
                AuditRecord("consent-granted", node.party, origin_id, {"statement": statement, "version_of": stix_id})
            )
    return audit
