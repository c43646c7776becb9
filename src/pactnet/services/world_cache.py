"""A node's world as of its recorded acts and consents: the world file's events, then what was recorded since.

Every API thread and dispatcher lane reads it; whichever sees the database hold more acts or consents than the
cache reads them all again, under the cache's lock, so that acts, consents and world always change together.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from pactnet.store import database
from pactnet.store.acts import COUNT_ACTS, recorded_acts, recorded_consents
from pactnet.world import read_document

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine

    from pactnet.policy.model import Consent, World

# Noted on a connection whose transaction read the acts and consents into the cache (WorldCache.refresh): the
# token the cache keeps while that transaction is open (WorldCache._provisional).
WORLD_READ = "pactnet.world.read"


class WorldCache:
    """The world file's document and the world it makes with the acts and consents recorded so far."""

    def __init__(self, document: dict[str, Any], world: World) -> None:
        self.document = document
        self._world = world
        self._acts: list[dict[str, Any]] = []
        self._granted: list[Consent] = []
        self._lock = threading.Lock()
        # Set when a transaction that read the acts and consents into the cache was rolled back: what it read may
        # have included its own rows, which are gone now, so the next refresh reads them again whatever the count.
        self._stale = False
        # While a write that read the acts and consents into the cache is open, the cache may hold rows of its
        # own that nobody else can see yet: the token it noted on its connection. Any other transaction reads
        # them again, or on PostgreSQL a row another writer commits meanwhile brings the count back to the
        # cache's, and the committed row would be missing from every other decision until the next change.
        self._provisional: object | None = None

    @property
    def world(self) -> World:
        """The world as last read (`refresh` reads it again inside a transaction)."""
        return self._world

    @property
    def acts(self) -> list[dict[str, Any]]:
        """The lifecycle acts recorded at this node, as world-file events, as last read."""
        return self._acts

    def watch(self, engine: Engine) -> None:
        """Follow the engine's transactions: a read undone by a rollback makes the cache stale."""
        event.listen(engine, "commit", self._world_read_kept)
        event.listen(engine, "rollback", self._world_read_undone)
        event.listen(engine, "rollback_savepoint", self._world_read_undone)

    def load(self, connection: Connection) -> None:
        """Read every act and consent recorded so far (opening a node); raises WorldError if they do not fit."""
        acts, granted = recorded_acts(connection), recorded_consents(connection)
        world = self.with_acts(acts, granted=granted) if acts or granted else self._world
        with self._lock:
            self._acts, self._granted, self._world = acts, granted, world

    def with_events(self, *events: dict[str, Any]) -> World:
        """The world with the recorded acts and `events` added; raises WorldError if an act makes no sense."""
        return self.with_acts(self._acts, *events)

    def with_acts(
        self, acts: list[dict[str, Any]], *events: dict[str, Any], granted: list[Consent] | None = None
    ) -> World:
        """The world with these acts, `events` and consents (by default those recorded); raises WorldError."""
        document = copy.copy(self.document)
        document["events"] = [*self.document.get("events", []), *acts, *events]
        world = read_document(document, self._world.source)
        consents = self._granted if granted is None else granted
        return world.with_consents(consents) if consents else world

    def refresh(self, connection: Connection, *, committed: bool = False) -> World:
        """The world with every lifecycle act recorded so far, by any API worker on the same database.

        Called inside the transaction that decides, so a decision never rests on a world older than its
        own transaction.
        """
        count = connection.execute(COUNT_ACTS).scalar_one()  # acts and consents: committed rows stay
        with self._lock:  # API threads and dispatcher lanes refresh alike: acts, consents and world change together
            foreign = self._provisional is not None and self._provisional is not connection.info.get(WORLD_READ)
            if self._stale or foreign or count != len(self._acts) + len(self._granted):
                acts, granted = recorded_acts(connection), recorded_consents(connection)
                world = self.with_acts(acts, granted=granted)
                self._acts, self._granted, self._world = acts, granted, world
                self._stale = False
                self._provisional = None
                # A reader's transaction holds no rows of its own, nor one that has written nothing yet.
                if not (committed or database.is_reader(connection)):
                    self._provisional = connection.info.setdefault(WORLD_READ, object())
            return self._world

    def adopt(self, acts: list[dict[str, Any]], world: World) -> None:
        """Take the acts read in a committed transaction, its own new act last, and the world they make."""
        with self._lock:
            self._acts, self._world = acts, world
            if self._provisional is not None:  # the consents it was made with may be an open write's own
                self._stale, self._provisional = True, None

    def _world_read_undone(self, connection: Connection, *_savepoint: object) -> None:
        # A rolled-back write (one that failed, or gave way to an urgent one) may have refreshed the world with
        # an act or consent of its own: without this, a row committed later would bring the count back to what
        # the world holds, and the rolled-back one would stay in it in place of the committed one.
        # A connection the database cut (a restart) has lost its info with it, and asking for it would raise in
        # place of the error that cut it: whether it read the world is unknown, so it is read again.
        if connection.invalidated or connection.info.pop(WORLD_READ, None) is not None:
            with self._lock:
                self._stale, self._provisional = True, None

    def _world_read_kept(self, connection: Connection) -> None:
        # Committed: what the transaction read is what everybody can read now (and any row committed since by
        # another writer makes the count differ, since the cache holds nothing uncommitted any more).
        token = connection.info.pop(WORLD_READ, None)
        if token is not None:
            with self._lock:
                if self._provisional is token:
                    self._provisional = None
