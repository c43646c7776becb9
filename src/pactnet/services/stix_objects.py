"""Reading the STIX objects a node holds, as TAXII asks for them: pages, an object by id, versions, a manifest.

Each read sees what the user is cleared for and nothing else (GSOMIA art. 7): an object above the user's
clearance or outside the user's compartments is left out of pages, counts and headers, and asked for by id it
is not found, exactly as an object that does not exist. A page ends at a position sealed for this user and
this filter (services.cursors), so `next` reveals nothing and a changed filter cannot continue it. Every read
is audited, as the API's report reads are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, or_, select, tuple_
from sqlalchemy.orm import aliased

from pactnet.audit.chain import AuditRecord
from pactnet.services import ForbiddenError, InvalidInputError, NotFoundError
from pactnet.services.cursors import BadCursorError, Cursors
from pactnet.services.stix_index import stix_instant
from pactnet.store.instants import instant_text
from pactnet.store.tables import stix_markings, stix_objects

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import ColumnElement, Connection, Select

    from pactnet.services.context import Node
    from pactnet.services.stix_collections import Collection
    from pactnet.services.users import User

_S = stix_objects.c
# Another version of the same object, in the conditions on versions.
_OTHER = aliased(stix_objects)
_COLUMNS = (_S.seq, _S.report_id, _S.stix_id, _S.type, _S.version, _S.date_added, _S.compartments, _S.object)


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    """A TAXII filter (TAXII 2.1 §3.5): each list is any of its values; empty lists filter nothing."""

    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    # "last" (the default), "first", "all", or versions as stored instants.
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()

    def fingerprint(self, collection: Collection, what: str) -> str:
        """What a cursor is bound to: the collection, the resource and the filter (TAXII 2.1 §3.4)."""
        after = None if self.added_after is None else instant_text(self.added_after)
        said = json.dumps([collection.id, what, after, self.ids, self.types, self.versions, self.spec_versions])
        return "taxii:" + hashlib.sha256(said.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Held:
    """One object as a page holds it: the object as served (JSON text) and what TAXII says of it."""

    seq: int
    report_id: str
    stix_id: str
    type: str
    version: str
    date_added: str
    object: str


@dataclass(slots=True)
class Page:
    """The objects of one page and where the next one starts (`next`: None when `more` is false)."""

    rows: list[Held] = field(default_factory=list)
    more: bool = False
    next: str | None = None

    @property
    def first_added(self) -> str | None:
        """X-TAXII-Date-Added-First: the earliest date added among the objects of this page."""
        return min((row.date_added for row in self.rows), default=None)

    @property
    def last_added(self) -> str | None:
        """X-TAXII-Date-Added-Last: the latest."""
        return max((row.date_added for row in self.rows), default=None)


def _version_condition(
    versions: tuple[str, ...], rank: int, held: ColumnElement[bool] | None
) -> ColumnElement[bool] | None:
    """Which versions of an object a filter keeps (TAXII 2.1 §3.5.1).

    Last and first are among the versions in the collection (`held`, on the alias `_OTHER`) that the user's
    clearance reaches.
    """
    if "all" in versions:
        return None
    other = _OTHER
    same = and_(other.c.stix_id == _S.stix_id, other.c.level_rank <= rank)
    if held is not None:
        same = and_(same, held)
    conditions: list[ColumnElement[bool]] = []
    if "last" in versions:
        conditions.append(~exists().where(same, other.c.version > _S.version))
    if "first" in versions:
        conditions.append(~exists().where(same, other.c.version < _S.version))
    stated = [version for version in versions if version not in {"last", "first"}]
    if stated:
        conditions.append(_S.version.in_(stated))
    return or_(*conditions)


def _selection(node: Node, user: User, collection: Collection, wanted: ObjectFilter) -> Select[Any]:
    if not collection.can_read:
        raise ForbiddenError(f"the collection {collection.title!r} is for publishing: read from another one")
    query = select(*_COLUMNS).where(_S.level_rank <= user.rank).order_by(_S.date_added, _S.seq)
    held = collection.holds(node.party)
    if held is not None:
        query = query.where(held)
    if wanted.added_after is not None:
        query = query.where(_S.date_added > instant_text(wanted.added_after))
    for column, values in ((_S.stix_id, wanted.ids), (_S.type, wanted.types), (_S.spec_version, wanted.spec_versions)):
        if values:
            query = query.where(column.in_(values))
    versions = _version_condition(wanted.versions, user.rank, collection.holds(node.party, _OTHER))
    return query if versions is None else query.where(versions)


def _after(connection: Connection, cursors: Cursors, cursor: str | None, user: User) -> tuple[str, int] | None:
    """The (date added, seq) a `next` of this user and filter stands for; InvalidInputError for any other."""
    if cursor is None:
        return None
    try:
        seq = cursors.open(cursor, user.id)
    except BadCursorError as error:
        raise InvalidInputError(
            "next: not one this server gave you for this collection and filter (a filter changed in the middle "
            "of a pagination, or a key rotation): start again without it"
        ) from error
    added = connection.execute(select(_S.date_added).where(_S.seq == seq)).scalar()
    return None if added is None else (added, seq)


def _page(connection: Connection, user: User, query: Select[Any], after: tuple[str, int] | None, limit: int) -> Page:
    """Up to `limit` rows the user may read after `after`, reading on while compartments leave rows out."""
    page = Page()
    last = after
    batch = limit + 1
    while True:
        bounded = query if last is None else query.where(tuple_(_S.date_added, _S.seq) > tuple_(*last))
        rows = connection.execute(bounded.limit(batch)).all()
        for row in rows:
            if user.compartments.issuperset(row.compartments):
                if len(page.rows) == limit:
                    page.more = True
                    return page
                page.rows.append(
                    Held(row.seq, row.report_id, row.stix_id, row.type, row.version, row.date_added, row.object)
                )
            last = (row.date_added, row.seq)
        if len(rows) < batch:
            return page


def read_page(
    node: Node, user: User, collection: Collection, wanted: ObjectFilter, cursor: str | None, limit: int, what: str
) -> Page:
    """A page of the collection's objects (or of their versions, or manifest: `what`) the user may read."""
    query = _selection(node, user, collection, wanted)
    cursors = Cursors(node.keys, wanted.fingerprint(collection, what))
    when = instant_text(node.now())

    def write(connection: Connection) -> Page:
        page = _page(connection, user, query, _after(connection, cursors, cursor, user), limit)
        if page.more:
            page.next = cursors.seal(page.rows[-1].seq, user.id)
        data = {"via": "taxii", "collection": collection.id, "returned": [row.report_id for row in page.rows]}
        node.audit.append(connection, when, [AuditRecord("list", user.name, "reports", data)])
        return page

    return node.uow.write(write)


def read_object(
    node: Node, user: User, collection: Collection, wanted: ObjectFilter, cursor: str | None, limit: int
) -> Page:
    """The versions of one object the filter keeps; NotFoundError if the user may read none (or it is not here)."""
    (stix_id,) = wanted.ids
    page = read_page(node, user, collection, wanted, cursor, limit, "object")
    if not page.rows and cursor is None:
        if stix_id.startswith("marking-definition--"):
            return _marking_page(node, user, collection, stix_id)
        raise NotFoundError(f"no object {stix_id[:120]!r} in the collection {collection.title!r}")
    return page


def marking_definition(node: Node, user: User, collection: Collection, marking_id: str) -> dict[str, Any] | None:
    """A marking-definition this node serves, if an object the user may read in the collection uses it."""
    query = _selection(node, user, collection, ObjectFilter(versions=("all",))).where(_S.marking_ref == marking_id)
    with node.uow.read() as connection:
        for row in connection.execute(query.limit(100)):
            if user.compartments.issuperset(row.compartments):
                text = connection.execute(select(stix_markings.c.definition).where(stix_markings.c.id == marking_id))
                found = text.scalar()
                return None if found is None else dict(json.loads(found))
    return None


def _marking_page(node: Node, user: User, collection: Collection, marking_id: str) -> Page:
    definition = marking_definition(node, user, collection, marking_id)
    if definition is None:
        raise NotFoundError(f"no object {marking_id[:120]!r} in the collection {collection.title!r}")
    created = stix_instant(definition.get("created"))
    version = "" if created is None else instant_text(created)
    return Page(rows=[Held(0, "", marking_id, "marking-definition", version, version, json.dumps(definition))])
