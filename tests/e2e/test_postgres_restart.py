"""PostgreSQL crashed and restarted while a node dispatches: nothing lost, nothing twice, no 500.

The three nodes of tests.e2e.network keep their databases on a PostgreSQL server of the test's own
(tests.private_postgres: initdb and pg_ctl on a free port; the shared server is never touched). ROK has a
backlog to send and a thread keeps publishing at it while the server is crashed (`pg_ctl stop -m immediate`,
recovery at the next start), left down for a second and started again (a crash is the harder case: a clean stop,
`-m fast`, closes the connections the same way, without a recovery to wait for). While the
server is down, a publish is answered 503 in the one error shape (no stack trace), or its connection is cut;
afterwards every report answered 201 is at JPN (if allowed there) and USA exactly once, every request answered
503 or cut is stored whole or not at all, every audit log verifies and no node logged a traceback. (A 503 cannot
promise that nothing was stored: the server may commit and crash before it answers the COMMIT, and the node only
sees the connection go. The 503's message says so.) Every batch is sent with an Idempotency-Key and sent again
with it until it is answered 201, as a careful client does: then every batch is stored exactly once.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from tests.e2e.network import PARTIES, SENDER, Network, Sent, wait_for
from tests.private_postgres import PrivatePostgres

if TYPE_CHECKING:
    from pathlib import Path

BATCH = 4
PAUSE = 0.1


@dataclass
class Outcomes:
    """What the publishing thread was told, request by request."""

    accepted: dict[str, Sent] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)  # titles of requests answered 503
    cut: list[list[str]] = field(default_factory=list)  # titles of requests whose connection was cut
    wrong: list[str] = field(default_factory=list)  # any other answer


def _batches(titles: list[str]) -> list[str]:
    """The batches (`during-N`) that titles (`during-N-K`) belong to, each once."""
    return list(dict.fromkeys(title.rsplit("-", 1)[0] for title in titles))


class Publisher(threading.Thread):
    """Publishes small batches at ROK until stopped, noting each answer."""

    def __init__(self, network: Network) -> None:
        super().__init__(name="publisher", daemon=True)
        self.network = network
        self.outcomes = Outcomes()
        self.sent: list[str] = []  # the batches sent, each under its own key
        self.stopping = threading.Event()

    def run(self) -> None:
        number = 0
        while not self.stopping.is_set():
            self.sent.append(f"during-{number}")
            while not self._publish(number):  # sent again, with its key, until it is answered
                self.stopping.wait(PAUSE)
            number += 1
            self.stopping.wait(PAUSE)

    def _publish(self, number: int) -> bool:
        """Whether the batch was answered (201, or an answer that will not change); 503 and cut: not yet."""
        titles = [f"during-{number}-{k}" for k in range(BATCH)]
        try:
            self.outcomes.accepted |= self.network.publish(f"during-{number}", BATCH, key=f"batch-{number}")
        except AssertionError as refused:  # publish asserts 201: what else came is in its message
            return not self._unavailable(titles, str(refused))
        except httpx.TransportError:
            self.outcomes.cut.append(titles)
            return False
        return True

    def _unavailable(self, titles: list[str], text: str) -> bool:
        body: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            body = json.loads(text.split("\n", maxsplit=1)[0])
        if body.get("error", {}).get("status") == httpx.codes.SERVICE_UNAVAILABLE:
            self.outcomes.unavailable += titles
            return True
        self.outcomes.wrong.append(text[:500])
        return False


def test_a_postgresql_restart_during_dispatch_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with PrivatePostgres() as server:
        databases = {party: server.database(f"pactnet_{party.lower()}") for party in PARTIES}
        network = Network(tmp_path, databases)
        try:
            network.start()
            backlog = network.publish("backlog", 30)
            publisher = Publisher(network)
            publisher.start()
            wait_for(lambda: len(network.pending(backlog)) < 100, 20, lambda: "ROK did not start dispatching")
            server.restart("immediate", down_for=1.0)
            wait_for(lambda: len(publisher.outcomes.accepted) > BATCH * 3, 30, lambda: "no publish after a crash")
            publisher.stopping.set()
            publisher.join(30)
            outcomes = publisher.outcomes
            assert outcomes.wrong == []
            assert outcomes.unavailable or outcomes.cut, "no publish met the server down"
            sent = backlog | outcomes.accepted
            network.settle(sent, seconds=60)
            network.check(sent)
            at_sender = network.held(SENDER)
            answered_503 = [[f"{prefix}-{k}" for k in range(BATCH)] for prefix in _batches(outcomes.unavailable)]
            for titles in [*outcomes.cut, *answered_503]:  # stored whole or not at all
                assert len({at_sender[title] for title in titles}) == 1, titles
            # Sent again with their keys until answered, the batches that met the outage are stored exactly once.
            assert _batches(list(outcomes.accepted)) == publisher.sent
            during = {title: count for title, count in at_sender.items() if title.startswith("during-")}
            assert set(during) == set(outcomes.accepted)
            assert set(during.values()) == {1}
        finally:
            network.close()
