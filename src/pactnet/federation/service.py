"""Running the dispatcher and the witnesses' head pusher by the API: one per process (PostgreSQL) or node (SQLite)."""

from __future__ import annotations

import fcntl
import os
from typing import TYPE_CHECKING

from pactnet.federation.dispatcher import Dispatcher
from pactnet.federation.witness import HeadPusher

if TYPE_CHECKING:
    from pactnet.services.context import Node

LOCK_FILE = "dispatcher.lock"


class DispatcherService:
    """Starts the node's dispatcher if this process may run one, and stops it."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.dispatcher: Dispatcher | None = None
        self.witnesses: HeadPusher | None = None
        self._lock: int | None = None

    def start(self) -> bool:
        """Start dispatching; False when another process of this SQLite node already does."""
        if not self.node.uow.is_postgresql:  # SQLite
            # The lock is released by the kernel when this process ends, however it ends.
            descriptor = os.open(self.node.config.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                return False
            self._lock = descriptor
        self.dispatcher = Dispatcher(self.node)
        self.dispatcher.start()
        # The process that sends the outbox also gives the partners, as witnesses, the head of the audit log.
        self.witnesses = HeadPusher(self.node)
        self.witnesses.start()
        return True

    def stop(self) -> None:
        """Stop dispatching and release the lock."""
        if self.witnesses is not None:
            self.witnesses.stop()
            self.witnesses = None
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
