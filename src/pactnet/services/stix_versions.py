"""Versions and revocations of STIX objects travel: a later version goes where the earlier ones went (issue 15).

A STIX object's versions share its id and differ by `modified`; `revoked: true` is a version like any other. Each
version is one report (services.stix_index), so it is decided, delivered and audited on its own, and a holder
keeps every version it received (`/versions/` lists them). Who gets a new version:

- At its originator, the new version is published as any posted object is (to every partner, narrowed by its TLP
  and ISA markings), so every party the earlier versions were delivered to is among its recipients, decided
  under the agreements in force when it is published. The consents in force for an earlier version (to release
  it to a party, to relay it under an arrangement) are granted again for the new one (services.stix_consents): the
  originator let those parties hold the object, and a later version of it is the same object. Only the
  originator publishes versions of its objects (`foreign_objects`).
- At a holder that passed an earlier version on (a user's onward release, a consent request of this node's, or
  an earlier version's travel), a new version received from the originator goes on to the same parties, decided
  again at that instant under this holder's agreements (`forward_versions`), with `asked_by: "version"`; the
  version's own TLP marking can only narrow that (TLP:AMBER and stricter are not passed on by a holder: a
  `decide` audit entry says so, with `withheld` and the reason). A
  transfer the originator's publication asked for (a hub relaying it as go-between) is not one of these: the
  originator's own decision sends the new version there.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pactnet.audit.chain import AuditRecord
from pactnet.services.records import decision_summary
from pactnet.services.releases import decide_and_queue
from pactnet.services.stix_index import STIX_OBJECT
from pactnet.stix.marking import PactnetMarking, narrowed_recipients
from pactnet.stix.tlp import tlp_of
from pactnet.store.outbox import BY_RELEASE, BY_REQUEST, BY_VERSION, DELIVERED, PENDING, TRANSFER
from pactnet.store.tables import outbox, reports, stix_objects

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.policy.model import World
    from pactnet.services.context import Node

# The transfers a holder asked for itself: where its copies of an object went on from it.
ONWARD = (BY_RELEASE, BY_REQUEST, BY_VERSION)
_S = stix_objects.c


def foreign_objects(party: str, held: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Of the (id, originator) pairs this node holds, the ids `party` may not publish a version of, with why.

    An object this node holds from another originator (received from a partner) is that originator's: a version
    posted here would be a second object under the same id, mixing two parties' versions at every holder.
    """
    return {
        stix_id: f"{stix_id} is an object of {other}: only its originator publishes new versions of it or revokes it"
        for stix_id, other in held
        if other != party
    }


def onward_holders(connection: Connection, stix_id: str, version: str) -> list[str]:
    """The parties this node passed a version of `stix_id` earlier than `version` on to (on its way or delivered)."""
    earlier = select(_S.report_id).where(_S.stix_id == stix_id, _S.version < version)
    query = select(outbox.c.final).where(
        outbox.c.report_id.in_(earlier),
        outbox.c.kind == TRANSFER,
        outbox.c.state.in_((PENDING, DELIVERED)),
        outbox.c.asked_by.in_(ONWARD),
    )
    return sorted({row.final for row in connection.execute(query)})


def forward_versions(
    connection: Connection, node: Node, world: World, received: Iterable[dict[str, Any]], at: datetime
) -> list[AuditRecord]:
    """Send new versions just received on to where this node passed earlier ones; the `decide` audit records.

    `received` are report rows stored (and indexed) in this transaction. Each transfer is decided now, recorded
    and, if allowed, queued in the same transaction, so a crash keeps the version and its travel or neither.
    """
    ids = [row["id"] for row in received if row["body_type"] == STIX_OBJECT and row["originator"] != node.party]
    if not ids:
        return []
    audit: list[AuditRecord] = []
    indexed = connection.execute(select(_S.report_id, _S.stix_id, _S.version).where(_S.report_id.in_(ids)))
    for report_id, stix_id, version in indexed.all():
        held = connection.execute(select(reports).where(reports.c.id == report_id)).one()
        parties = [
            one for one in onward_holders(connection, stix_id, version) if one not in {node.party, held.originator}
        ]
        # The version's own TLP can only narrow (docs/stix.md): AMBER and stricter are not passed on by a holder.
        tlp = tlp_of(json.loads(held.body))
        marking = PactnetMarking(held.originator, held.level, (), None, (), held.precedence, tlp=tlp)
        kept, withheld = narrowed_recipients(marking, parties, holder=node.party)
        for party in kept:
            decision, _ = decide_and_queue(connection, node, world, held, party, at, BY_VERSION)
            audit.append(AuditRecord("decide", node.party, report_id, decision_summary(party, decision, BY_VERSION)))
        for party, why in withheld.items():
            data = {"to": party, "asked_by": BY_VERSION, "allowed": False, "route": [], "under": [], "reasons": []}
            audit.append(AuditRecord("decide", node.party, report_id, data | {"withheld": why}))
    return audit
