"""A partner behind a broken link: partitioned, slow, answering 5xx or rubbish, or cut mid-batch; nothing is lost.

Real `pactnet node serve` processes for ROK, JPN and USA on loopback (tests.e2e.network); ROK reaches JPN only
through a fault-injecting proxy (tests.fault_proxy) and USA directly. For each fault: the fault is set, ROK
publishes reports (a third of them at a level the GSOMIA does not map, so refused for JPN) and the test waits
until the fault has visibly been met (the proxy counted it, and ROK's outbox shows a failed attempt where the
fault makes one); ROK publishes more while the fault still holds, and every publish is accepted (201). Then the
fault heals, and once nothing is pending at ROK: every report allowed for JPN is held there exactly once,
nothing refused for it is held there, USA (on a healthy link all along) holds every report exactly once, ROK
shows each transfer `delivered`, every node's audit log verifies and no node logged a traceback.

The resets are the sharp case: the partner stored the batch and answered, and the sender never heard the
answer. The test checks that JPN already holds such a report while ROK still has it pending; the resend is
answered as a replay and stores nothing twice.

The faults run on SQLite; on PostgreSQL, where a dispatcher holds its rows locked while it sends them, the
partition that hangs the sender and the reset run too.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest

from tests.databases import fresh_postgres_database
from tests.e2e.network import BEHIND, PARTIES, Network, Sent, wait_for
from tests.fault_proxy import Fault

if TYPE_CHECKING:
    from collections.abc import Iterator

FAULTS = {
    "refused": Fault("refuse"),
    "dropped": Fault("drop"),
    "slow": Fault("slow", ms_per_byte=0.5),
    "503": Fault("5xx", status=503),
    "bytes-not-http": Fault("garbage", garbage="bytes"),
    "forged-answers": Fault("garbage", garbage="answers"),
    "reset-after-the-partner-answered": Fault("reset", response_bytes=0),
    "reset-mid-answer": Fault("reset", response_bytes=300),
    "request-cut-mid-body": Fault("cut", request_bytes=400),
}
ON_POSTGRES = ("dropped", "reset-after-the-partner-answered")
# What the proxy counts when it meets each kind of fault.
COUNTED = {
    "refuse": "set refuse",
    "drop": "dropped",
    "slow": "slow bytes",
    "5xx": "answered 5xx",
    "garbage": "answered garbage",
    "reset": "resets",
    "cut": "resets",
}
REPORTS = 9  # per publish request; 6 of them for JPN


def _network(tmp_path_factory: pytest.TempPathFactory, kind: str) -> Iterator[Network]:
    with ExitStack() as stack:
        databases = None
        if kind == "postgresql":
            databases = {party: stack.enter_context(fresh_postgres_database("pactnet_faults")) for party in PARTIES}
        net = Network(tmp_path_factory.mktemp(f"faults-{kind}"), databases)
        stack.callback(net.close)
        net.start()
        yield net


@pytest.fixture(scope="module")
def sqlite_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The three nodes on SQLite, shared by the faults run on it."""
    yield from _network(tmp_path_factory, "sqlite")


@pytest.fixture(scope="module")
def postgres_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The three nodes on PostgreSQL, shared by the faults run on it."""
    yield from _network(tmp_path_factory, "postgresql")


def _failed_attempt(net: Network, sent: dict[str, Sent]) -> bool:
    """Whether ROK has a transfer to JPN pending after an attempt that failed."""
    return any(
        row["to"] == BEHIND and row["state"] == "pending" and row["last_error"]
        for one in sent.values()
        for row in net.deliveries(one.id)
    )


def _met(net: Network, name: str, sent: dict[str, Sent]) -> bool:
    """Whether the fault has visibly been met: counted by the proxy, and where it makes one, a failed attempt."""
    kind = FAULTS[name].kind
    if net.proxy.counts[COUNTED[kind]] == 0:
        return False
    if kind == "slow":  # a slow answer still arrives: one transfer to JPN delivered through it
        return any(row["state"] == "delivered" for one in sent.values() for row in net.deliveries(one.id))
    return kind == "drop" or _failed_attempt(net, sent)


class TestNetworkFaults:
    """While a fault holds, publishes are accepted; after it heals, everything arrives exactly once."""

    @pytest.mark.parametrize("name", FAULTS)
    def test_on_sqlite(self, sqlite_network: Network, name: str) -> None:
        """Every fault of the proxy, between two nodes on SQLite."""
        _survives(sqlite_network, name)

    @pytest.mark.parametrize("name", ON_POSTGRES)
    def test_on_postgresql(self, postgres_network: Network, name: str) -> None:
        """The faults where PostgreSQL's dispatcher differs: it holds its rows locked while it sends."""
        _survives(postgres_network, name)


def _survives(network: Network, name: str) -> None:
    kind = network.kind
    fault = FAULTS[name]
    network.proxy.counts.clear()
    network.proxy.set(fault)
    try:
        sent = network.publish(f"{name}-{kind}-a", REPORTS)
        wait_for(lambda: _met(network, name, sent), 20, lambda: f"the fault was not met: {network.proxy.counts}")
        held = network.held(BEHIND)
        if fault.kind == "reset":  # JPN took the batch; ROK never heard: the resend must be a replay
            assert any(held[title] == 1 for title in sent), network.proxy.counts
        elif fault.kind != "slow":
            assert not any(held[title] for title in sent), "a fault that lets nothing through let something through"
        sent |= network.publish(f"{name}-{kind}-b", REPORTS)  # accepted while the fault still holds
    finally:
        network.proxy.heal()
    network.settle(sent)
    network.check(sent)
