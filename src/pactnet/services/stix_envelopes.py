"""Objects posted to the TAXII server: each STIX object published as one report, and the status of the post.

A posted object is not stored beside the reports: it *is* a report, published through services.reports with
the level, categories, releasability, compartments and precedence its pactnet marking names, so every transfer
is decided, audited and queued exactly as for the API, and each object travels, is versioned and revoked on its
own. TLP and ISA markings only narrow the recipients the agreements allow (pactnet.stix.marking). The status of
a post (TAXII 2.1 §4.3) is stored, so that a client may poll it after a restart, and only its poster reads it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select

from pactnet.services import ForbiddenError, NotFoundError, ServiceError
from pactnet.services.reports import Checked, Prepared, Publication, prepare, store, urgency_of
from pactnet.services.stix_index import STIX_OBJECT, object_problem, object_text, stix_instant
from pactnet.services.stix_versions import foreign_objects
from pactnet.stix.marking import PactnetMarking, StixMarkingError, marking_of, narrowed_recipients
from pactnet.store.instants import instant_text
from pactnet.store.tables import stix_markings, stix_objects, taxii_statuses

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.services.context import Node
    from pactnet.services.stix_collections import Collection
    from pactnet.services.users import User

MARKING_DEFINITION = "marking-definition"
_INSERT_STATUS = insert(taxii_statuses)
# Statements built once, their lists of ids bound when run: building `in_(ids)` coerces each id to a parameter and
# keys the statement for SQLAlchemy's cache anew, per post, at twice the cost of running the query.
_STORED_DEFINITIONS = select(stix_markings).where(stix_markings.c.id.in_(bindparam("ids", expanding=True)))
# By id alone: SQLite answers `(id, version) IN (...)` by reading the whole index.
_HELD = select(stix_objects.c.stix_id, stix_objects.c.version, stix_objects.c.originator).where(
    stix_objects.c.stix_id.in_(bindparam("ids", expanding=True))
)
_TITLE = 500


def _version(obj: Mapping[str, Any]) -> str | None:
    """The version a status names an object by (TAXII 2.1 §4.3.1): its `modified`, else `created`."""
    found = obj.get("modified", obj.get("created"))
    return found if isinstance(found, str) else None


def _storable(text: str) -> str:
    """`text` as a database can store it: a lone surrogate escaped, so the status still names what it refuses."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _entry(obj: object, message: str | None = None) -> dict[str, Any]:
    """A status-details entry (TAXII 2.1 §4.3.1)."""
    identifier = obj.get("id") if isinstance(obj, dict) else None
    entry: dict[str, Any] = {"id": _storable(identifier) if isinstance(identifier, str) else "", "version": ""}
    if isinstance(obj, dict):
        entry["version"] = _storable(_version(obj) or "")
    if message is not None:
        entry["message"] = message
    return entry


def _definitions(connection: Connection, holdable: list[_Posted]) -> dict[str, Mapping[str, Any]]:
    """The marking-definitions the objects may reference: those posted with them, and those this node serves."""
    objects = [one.obj for one in holdable]
    posted = {
        obj["id"]: obj
        for obj in objects
        if isinstance(obj, dict) and obj.get("type") == MARKING_DEFINITION and isinstance(obj.get("id"), str)
    }
    referenced = {
        ref
        for obj in objects
        if isinstance(obj, dict) and isinstance(obj.get("object_marking_refs"), list)
        for ref in obj["object_marking_refs"]
        if isinstance(ref, str) and ref not in posted
    }
    stored = connection.execute(_STORED_DEFINITIONS, {"ids": sorted(referenced)}).all()
    return {row.id: json.loads(row.definition) for row in stored} | posted


@dataclass(frozen=True, slots=True)
class _Posted:
    """A posted object with what every step asks of it, worked out once: what is wrong with it, its version."""

    obj: Any
    problem: str | None
    key: tuple[str, str] | None  # its id and version as the index stores them, if it is an object with a version

    @classmethod
    def of(cls, obj: object) -> _Posted:
        problem = object_problem(obj)
        if problem is not None or not isinstance(obj, dict):
            return cls(obj, problem, None)
        version = stix_instant(obj.get("modified")) or stix_instant(obj.get("created"))
        return cls(obj, None, None if version is None else (obj["id"], instant_text(version)))


@dataclass(frozen=True, slots=True)
class _Held:
    """What this node holds of the posted objects' ids: the (id, version) pairs, and the ids of another party's."""

    versions: set[tuple[str, str]]
    foreign: dict[str, str]  # services.stix_versions.foreign_objects: by id, why this party may not publish it

    @classmethod
    def read(cls, connection: Connection, party: str, posted: list[_Posted]) -> _Held:
        """Both, from one query by the ids (the index of ids answers it, whatever the store holds)."""
        ids = sorted({one.obj["id"] for one in posted})
        rows = connection.execute(_HELD, {"ids": ids}).all() if ids else []
        keys = {one.key for one in posted if one.key is not None}
        versions = {(row.stix_id, row.version) for row in rows} & keys
        return cls(versions, foreign_objects(party, ((row.stix_id, row.originator) for row in rows)))


def _default_marking(node: Node) -> PactnetMarking | None:
    """The marking of an object posted without one: this party's, at the configured level (none if not set)."""
    level = node.config.taxii_default_level
    if not level:
        return None
    return PactnetMarking(node.party, level, (), None, (), "routine", None, None)


class _Sorting:
    """The posted objects sorted into publications, successes and failures, each in the client's words."""

    def __init__(self, node: Node, definitions: Mapping[str, Mapping[str, Any]], held: _Held) -> None:
        self.node = node
        self.definitions = definitions
        self.held = held.versions
        self.foreign = held.foreign
        self.publications: list[tuple[Any, Publication, str | None]] = []
        self.successes: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        # The markings read so far, by the references that name them: the objects of one envelope share a handful.
        self.read: dict[tuple[str, ...], PactnetMarking] = {}
        # The recipients each marking leaves, and why it removes the others, worked out once per marking.
        self.narrowed: dict[PactnetMarking, tuple[list[str], str | None]] = {}

    def take(self, posted: _Posted) -> None:
        """Sort one posted object."""
        obj = posted.obj
        if posted.problem is not None or not isinstance(obj, dict):
            self.failures.append(_entry(obj, f"not a STIX 2.1 object: {posted.problem}"))
        elif obj["type"] == MARKING_DEFINITION:
            self.successes.append(_entry(obj, "read as the marking of the objects that reference it"))
        elif posted.key in self.held:
            self.successes.append(_entry(obj, "this version is held already"))
        else:
            self._publication(obj, posted.key)

    def _marking(self, obj: dict[str, Any]) -> PactnetMarking:
        """The object's marking (StixMarkingError if it has none that holds), read once for the same references.

        Only a marking read whole is kept: a refusal names the object, so each object refused is read again.
        """
        refs = obj.get("object_marking_refs", [])
        plain = "granular_markings" not in obj and isinstance(refs, list) and all(isinstance(r, str) for r in refs)
        if plain and tuple(refs) in self.read:
            return self.read[tuple(refs)]
        marking = marking_of(obj, self.definitions, _default_marking(self.node))
        if plain:
            self.read[tuple(refs)] = marking
        return marking

    def _publication(self, obj: dict[str, Any], key: tuple[str, str] | None) -> None:
        node = self.node
        try:
            marking = self._marking(obj)
        except StixMarkingError as error:
            self.failures.append(_entry(obj, str(error)))
            return
        if marking.originator != node.party:
            message = (
                f"the pactnet marking names {marking.originator} as originator: this node publishes for {node.party}"
            )
            self.failures.append(_entry(obj, message))
            return
        if obj["id"] in self.foreign:  # services.stix_versions: versions of an object are its originator's alone
            self.failures.append(_entry(obj, self.foreign[obj["id"]]))
            return
        self.held.add(key or ("", ""))  # the same version twice in one post is published once
        recipients, note = self._recipients(marking)
        name = obj.get("name")
        publication = Publication(
            title=(name if isinstance(name, str) and name else obj["id"])[:_TITLE],
            level=marking.level,
            categories=list(marking.categories),
            rel_to=None if marking.rel_to is None else list(marking.rel_to),
            precedence=marking.precedence,
            compartments=list(marking.compartments),
            body_type=STIX_OBJECT,
            body=object_text(obj, sort_keys=True),
            recipients=recipients,
        )
        self.publications.append((obj, publication, note))

    def _recipients(self, marking: PactnetMarking) -> tuple[list[str], str | None]:
        """The partners the marking leaves, and the note saying why it removes the others."""
        if marking not in self.narrowed:
            partners = [code for code in self.node.world.parties if code != self.node.party]
            recipients, removed = narrowed_recipients(marking, partners)
            note = "; ".join(f"not sent to {code}: {why}" for code, why in removed.items()) or None
            self.narrowed[marking] = recipients, note
        return self.narrowed[marking]

    def prepared(self, user: User, at: datetime) -> list[Prepared]:
        """The publications checked one by one: each refused one is a failure naming why, the rest succeed."""
        ready: list[Prepared] = []
        checked: Checked = {}
        for obj, publication, note in self.publications:
            try:
                ready.append(prepare(self.node, user, publication, at, checked))
            except ServiceError as error:
                self.failures.append(_entry(obj, error.message))
            else:
                self.successes.append(_entry(obj, note))
        return ready


def add_objects(node: Node, user: User, collection: Collection, objects: list[Any]) -> dict[str, Any]:
    """Publish the objects of a posted envelope; the status resource of the post (TAXII 2.1 §5.5).

    The status is stored complete in the transaction that stores what was published, so a client polling it
    never finds a post that is not there, nor one half done.
    """
    if not collection.can_write:
        raise ForbiddenError(f"the collection {collection.title!r} is read only: post to the one to publish to")
    now = node.now()
    posted = [_Posted.of(obj) for obj in objects]
    # Only objects that can be held are looked up: an id the database cannot take (a lone surrogate) must be
    # this object's failure in the status, not the whole post's server error.
    holdable = [one for one in posted if one.problem is None]
    with node.uow.read() as connection:
        sorting = _Sorting(node, _definitions(connection, holdable), _Held.read(connection, node.party, holdable))
    for one in posted:
        sorting.take(one)
    ready = sorting.prepared(user, now)
    row = {"id": str(uuid.uuid4()), "user_id": user.id, "status": "complete", "request_timestamp": instant_text(now)}
    row |= {"total_count": len(objects), "successes": sorting.successes, "failures": sorting.failures, "pendings": []}

    def write(connection: Connection) -> None:
        connection.execute(_INSERT_STATUS, [row])
        if ready:
            store(connection, node, user, ready)

    with urgency_of(node, ready) as urgent:
        node.uow.write(write, urgent=urgent)
    return _resource(row)


def _resource(row: Mapping[str, Any]) -> dict[str, Any]:
    """The status resource (TAXII 2.1 §4.3) of a stored status."""
    return {
        "id": row["id"],
        "status": row["status"],
        "request_timestamp": row["request_timestamp"],
        "total_count": row["total_count"],
        "success_count": len(row["successes"]),
        "successes": row["successes"],
        "failure_count": len(row["failures"]),
        "failures": row["failures"],
        "pending_count": len(row["pendings"]),
        "pendings": row["pendings"],
    }


def get_status(node: Node, user: User, status_id: str) -> dict[str, Any]:
    """The status of a post by this user; NotFoundError for anyone else's, as for one that does not exist."""
    with node.uow.read() as connection:
        found = connection.execute(select(taxii_statuses).where(taxii_statuses.c.id == status_id[:64])).first()
    if found is None or found.user_id != user.id:
        raise NotFoundError(f"no status {status_id[:64]!r} of yours")
    return _resource(dict(found._mapping))  # noqa: SLF001 - SQLAlchemy's documented way to read a row by name
