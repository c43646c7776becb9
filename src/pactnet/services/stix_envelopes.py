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
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, tuple_, update

from pactnet.services import ForbiddenError, NotFoundError, ServiceError
from pactnet.services.reports import Publication, publish_many
from pactnet.services.stix_index import STIX_OBJECT, object_problem, stix_instant
from pactnet.services.stix_versions import foreign_objects
from pactnet.stix.marking import PactnetMarking, StixMarkingError, marking_of, narrowed_recipients
from pactnet.store.instants import instant_text
from pactnet.store.tables import stix_markings, stix_objects, taxii_statuses

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection

    from pactnet.services.context import Node
    from pactnet.services.stix_collections import Collection
    from pactnet.services.users import User

MARKING_DEFINITION = "marking-definition"
_COMPLETE = update(taxii_statuses)
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


def _definitions(connection: Connection, objects: list[Any]) -> dict[str, Mapping[str, Any]]:
    """The marking-definitions the objects may reference: those posted with them, and those this node serves."""
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
    stored = connection.execute(select(stix_markings).where(stix_markings.c.id.in_(sorted(referenced)))).all()
    return {row.id: json.loads(row.definition) for row in stored} | posted


def _version_key(obj: object) -> tuple[str, str] | None:
    """An object's id and version as the index stores them, if it is an object with a version."""
    if object_problem(obj) is not None or not isinstance(obj, dict):
        return None
    version = stix_instant(obj.get("modified")) or stix_instant(obj.get("created"))
    return None if version is None else (obj["id"], instant_text(version))


def _held_versions(connection: Connection, objects: list[Any]) -> set[tuple[str, str]]:
    """The (id, version) of the posted objects this node holds already."""
    keys = {key for key in map(_version_key, objects) if key is not None}
    if not keys:
        return set()
    pair = tuple_(stix_objects.c.stix_id, stix_objects.c.version)
    query = select(stix_objects.c.stix_id, stix_objects.c.version).where(pair.in_(sorted(keys)))
    return {(row.stix_id, row.version) for row in connection.execute(query)}


def _default_marking(node: Node) -> PactnetMarking | None:
    """The marking of an object posted without one: this party's, at the configured level (none if not set)."""
    level = node.config.taxii_default_level
    if not level:
        return None
    return PactnetMarking(node.party, level, (), None, (), "routine", None, None)


class _Sorting:
    """The posted objects sorted into publications, successes and failures, each in the client's words."""

    def __init__(self, node: Node, definitions: Mapping[str, Mapping[str, Any]], held: set[tuple[str, str]]) -> None:
        self.node = node
        self.definitions = definitions
        self.held = held
        self.publications: list[tuple[Any, Publication, str | None]] = []
        self.successes: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.foreign: dict[str, str] = {}

    def take(self, obj: object) -> None:
        """Sort one posted object."""
        problem = object_problem(obj)
        if problem is not None or not isinstance(obj, dict):
            self.failures.append(_entry(obj, f"not a STIX 2.1 object: {problem}"))
        elif obj["type"] == MARKING_DEFINITION:
            self.successes.append(_entry(obj, "read as the marking of the objects that reference it"))
        elif _version_key(obj) in self.held:
            self.successes.append(_entry(obj, "this version is held already"))
        else:
            self._publication(obj)

    def _publication(self, obj: dict[str, Any]) -> None:
        node = self.node
        try:
            marking = marking_of(obj, self.definitions, _default_marking(node))
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
        self.held.add(_version_key(obj) or ("", ""))  # the same version twice in one post is published once
        partners = [code for code in node.world.parties if code != node.party]
        recipients, removed = narrowed_recipients(marking, partners)
        note = "; ".join(f"not sent to {code}: {why}" for code, why in removed.items()) or None
        name = obj.get("name")
        publication = Publication(
            title=(name if isinstance(name, str) and name else obj["id"])[:_TITLE],
            level=marking.level,
            categories=list(marking.categories),
            rel_to=None if marking.rel_to is None else list(marking.rel_to),
            precedence=marking.precedence,
            compartments=list(marking.compartments),
            body_type=STIX_OBJECT,
            body=json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
            recipients=recipients,
        )
        self.publications.append((obj, publication, note))

    def publish(self, user: User) -> None:
        """Publish every publication in one transaction; if one is refused, each on its own, naming its refusal."""
        if not self.publications:
            return
        try:
            publish_many(self.node, user, [publication for _, publication, _ in self.publications])
        except ServiceError:
            for obj, publication, note in self.publications:
                try:
                    publish_many(self.node, user, [publication])
                except ServiceError as error:
                    self.failures.append(_entry(obj, error.message))
                else:
                    self.successes.append(_entry(obj, note))
            return
        self.successes += [_entry(obj, note) for obj, _, note in self.publications]


def add_objects(node: Node, user: User, collection: Collection, objects: list[Any]) -> dict[str, Any]:
    """Publish the objects of a posted envelope; the status resource of the post (TAXII 2.1 §5.5).

    The status is stored pending before anything is published, and complete once every object is decided, so a
    client polling it never finds a post that is not there.
    """
    if not collection.can_write:
        raise ForbiddenError(f"the collection {collection.title!r} is read only: post to the one to publish to")
    status_id = str(uuid.uuid4())
    at = instant_text(node.now())
    pending = [_entry(obj) for obj in objects]
    row = {"id": status_id, "user_id": user.id, "status": "pending", "request_timestamp": at}
    row |= {"total_count": len(objects), "successes": [], "failures": [], "pendings": pending}

    # Only objects that can be held are looked up: an id the database cannot take (a lone surrogate) must be
    # this object's failure in the status, not the whole post's server error.
    holdable = [obj for obj in objects if object_problem(obj) is None]

    def begin(connection: Connection) -> _Sorting:
        connection.execute(insert(taxii_statuses), [row])
        sorting = _Sorting(node, _definitions(connection, holdable), _held_versions(connection, holdable))
        sorting.foreign = foreign_objects(connection, node.party, [obj["id"] for obj in holdable])
        return sorting

    sorting = node.uow.write(begin)
    for obj in objects:
        sorting.take(obj)
    sorting.publish(user)
    done = {"status": "complete", "successes": sorting.successes, "failures": sorting.failures, "pendings": []}
    node.uow.write(lambda connection: connection.execute(_COMPLETE.where(taxii_statuses.c.id == status_id), done))
    return _resource(row | done)


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
