"""What every use case is given: the node's party, keys, audit log, world and unit of work, and its clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pactnet.services.refusal_tally import RefusalTally

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection

    from pactnet.config import NodeConfig
    from pactnet.crypto.keys import NodeKeys
    from pactnet.federation.partners import PartnerRegistry
    from pactnet.policy.model import World
    from pactnet.services.world_cache import WorldCache
    from pactnet.store.audit_log import SqlAuditLog
    from pactnet.store.unit_of_work import UnitOfWork


def system_clock() -> datetime:
    """The wall clock, in UTC; the only place a node reads it (the demo hands in a scenario clock)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Node:
    """One party's node as its use cases see it; built once by the composition root (pactnet.node)."""

    config: NodeConfig
    keys: NodeKeys
    audit: SqlAuditLog
    worlds: WorldCache
    uow: UnitOfWork
    # The partner registry (partners.toml) as it is now: read again by whoever needs it, since an operator may
    # trust a partner while the node runs. Handed in, so that the use cases import nothing of federation.
    partners: Callable[[], PartnerRegistry]
    clock: Callable[[], datetime] = system_clock
    # Refusals of unopened envelopes audited one by one, and those only counted (pactnet.services.refusal_tally).
    refusals: RefusalTally = field(default_factory=RefusalTally)

    @property
    def party(self) -> str:
        """The party this node speaks for."""
        return self.config.party

    @property
    def world(self) -> World:
        """The world as last read (`refresh` reads it again inside a transaction)."""
        return self.worlds.world

    def now(self) -> datetime:
        """The node's current instant."""
        return self.clock()

    def refresh(self, connection: Connection, *, committed: bool = False) -> World:
        """The world with every act and consent recorded so far, read inside the caller's transaction.

        `committed`: the transaction has written nothing yet, so what it reads, others can read too.
        """
        return self.worlds.refresh(connection, committed=committed)

    def close(self) -> None:
        """Finish the writes handed over, then release the database connections."""
        self.uow.close()
