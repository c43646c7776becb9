"""Each partner's health as its outbox shows it: queue depth, oldest queued, last delivery, last failure and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from pactnet.store.outbox import DELIVERED, PENDING
from pactnet.store.tables import outbox

if TYPE_CHECKING:
    from pactnet.services.context import Node


@dataclass(frozen=True, slots=True)
class PartnerHealth:
    """One partner of this node: whether it is trusted, and what its lane of the outbox says."""

    party: str
    queued: int
    oldest_queued: str | None
    delivered: int
    last_delivery: str | None
    settled_otherwise: int
    failing_attempts: int
    last_failure: str | None
    next_attempt: str | None
    # Where the partner is reached; None for a party of the world this node has no entry for.
    url: str | None


def _counts(node: Node) -> dict[tuple[str, str], tuple[int, str | None, str | None]]:
    """(next hop, state) → (how many, the oldest created, the newest settled)."""
    query = select(
        outbox.c.recipient,
        outbox.c.state,
        func.count(),
        func.min(outbox.c.created_at),
        func.max(outbox.c.settled_at),
    ).group_by(outbox.c.recipient, outbox.c.state)
    with node.uow.read() as connection:
        return {(row[0], row[1]): (int(row[2]), row[3], row[4]) for row in connection.execute(query)}


# A failure's reason as the dispatcher wrote it can be long (a partner's error body); the page shows its start.
_SHOWN_ERROR = 300


def _last_failures(node: Node) -> dict[str, tuple[int, str | None, str | None]]:
    """For each next hop, its most recent queued envelope that failed: attempts, why, and when it is tried next."""
    query = (
        select(outbox.c.recipient, outbox.c.attempts, outbox.c.last_error, outbox.c.next_at)
        .where(outbox.c.state == PENDING, outbox.c.last_error.is_not(None))
        .order_by(outbox.c.seq.desc())
    )
    found: dict[str, tuple[int, str | None, str | None]] = {}
    with node.uow.read() as connection:
        for row in connection.execute(query):
            found.setdefault(row.recipient, (int(row.attempts), str(row.last_error)[:_SHOWN_ERROR], row.next_at))
    return found


def partner_health(node: Node) -> list[PartnerHealth]:
    """Every other party of the world, trusted or not, with its outbox lane (nothing about any item's content)."""
    registry = node.partners()
    counts = _counts(node)
    failures = _last_failures(node)
    health = []
    for party in sorted(set(node.world.parties) - {node.party}):
        partner = registry.get(party)
        queued = counts.get((party, PENDING), (0, None, None))
        delivered = counts.get((party, DELIVERED), (0, None, None))
        others = sum(
            count
            for (hop, state), (count, _, _) in counts.items()
            if hop == party and state not in {PENDING, DELIVERED}
        )
        attempts, why, next_at = failures.get(party, (0, None, None))
        health.append(
            PartnerHealth(
                party=party,
                queued=queued[0],
                oldest_queued=queued[1],
                delivered=delivered[0],
                last_delivery=delivered[2],
                settled_otherwise=others,
                failing_attempts=attempts,
                last_failure=why,
                next_attempt=next_at,
                url=None if partner is None else partner.url,
            )
        )
    return health
