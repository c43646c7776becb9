"""The collections of STIX objects a node offers over TAXII: one to publish to, and views of what it holds.

Ids and titles are stable (a client such as OpenCTI's connector picks a collection by title, and keeps its id):
each id is a UUID 5 of the party (and partner) and the collection's role, so it is the same on every start, on
every worker, and after a restart. docs/taxii.md lists them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from pactnet.services import NotFoundError
from pactnet.store.tables import stix_objects

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, FromClause

    from pactnet.services.context import Node

# The namespace of collection ids (UUID 5, RFC 9562 §5.5).
_NAMESPACE = uuid.UUID("4f0c2b8e-6a0e-5d7a-9f3e-2b1d7c5a9e10")


class Scope(StrEnum):
    """What a collection holds."""

    PUBLISH = "publish"  # write only: what is posted is published by this party
    OWN = "own"  # the objects this party originated
    PARTNER = "partner"  # the objects one partner delivered to this node
    ALL = "all"  # everything this node holds


@dataclass(frozen=True, slots=True)
class Collection:
    """One TAXII collection of this node (TAXII 2.1 §5.2)."""

    id: str
    title: str
    description: str
    scope: Scope
    partner: str | None = None

    @property
    def can_read(self) -> bool:
        """Whether objects are read from it (all but the collection to publish to)."""
        return self.scope is not Scope.PUBLISH

    @property
    def can_write(self) -> bool:
        """Whether objects are posted to it (the collection to publish to alone)."""
        return self.scope is Scope.PUBLISH

    def holds(self, party: str, table: FromClause = stix_objects) -> ColumnElement[bool] | None:
        """The condition on stix_objects rows (of `table`, an alias of it) of this collection (None: every row)."""
        if self.scope is Scope.OWN:
            return table.c.originator == party
        if self.scope is Scope.PARTNER:
            return table.c.received_from == self.partner
        return None


def _id(*names: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(names)))


def collections(node: Node) -> list[Collection]:
    """Every collection of this node: publish, own, one per partner (in the world's order), and all."""
    party = node.party
    partners = [code for code in node.world.parties if code != party]
    return [
        Collection(
            _id(party, "publish"),
            f"{party} publish",
            f"Objects posted here are published by {party}, each as a report decided under the agreements in force.",
            Scope.PUBLISH,
        ),
        Collection(_id(party, "own"), f"{party} own", f"The objects {party} originated.", Scope.OWN),
        *(
            Collection(
                _id(party, "partner", code),
                f"from {code}",
                f"The objects {code} delivered to {party}, marked as {party} holds them.",
                Scope.PARTNER,
                code,
            )
            for code in partners
        ),
        Collection(_id(party, "all"), f"{party} all", f"Every object {party} holds.", Scope.ALL),
    ]


def collection(node: Node, collection_id: str) -> Collection:
    """The collection with this id; NotFoundError naming the ids there are."""
    for one in collections(node):
        if one.id == collection_id:
            return one
    raise NotFoundError(f"no collection {collection_id[:80]!r}: GET the collections/ resource for their ids")
