"""Partners' clocks skewed up to the freshness bound are no trouble; beyond it, envelopes wait and nothing is lost.

The bound is `MAX_SKEW` (pactnet.crypto.envelope, 5 minutes; docs/federation.md, "Receiving envelopes"): a
receiver refuses an envelope whose `sent_at` is further than that from its own clock, and a sender an answer
likewise (allowing the row's age on top). Real `pactnet node serve` processes for ROK, JPN and USA
(tests.e2e.network), ROK's and JPN's clocks moved by scenario clock files (`--scenario-clock`), USA's the
machine's.

- Within the bound (ROK 4.5 minutes behind, then ahead; JPN 4.5 minutes ahead): every transfer is delivered at
  its first attempt.
- Beyond it (ROK 6 minutes behind, then JPN 6 minutes ahead): the partner refuses each envelope with the code
  `stale` in its batch answer, which names both instants; the sender keeps the rows pending with that error,
  tries again and again, and keeps accepting publishes. Once the clock is set right (a step, as NTP makes one),
  everything is delivered exactly once and every audit log verifies.

A sender whose clock ran ahead and is set back holds items "created" in its future, which may not go before
they exist by its clock: tests/integration/test_clock_steps.py checks that they wait rather than being
cancelled, with a clock moved by hand instead of minutes of waiting.

The `stale` answer is the batch's per-envelope error, not a signed refusal envelope: a signed refusal settles a
transfer for good, where a stale one must be retried, and a sender whose clock is off could not check the
freshness of a signed answer anyway (docs/faults.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pactnet.crypto.envelope import MAX_SKEW
from pactnet.scenario import set_scenario
from tests.e2e.network import BEHIND, DIRECT, SENDER, Network, Sent, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

WITHIN = MAX_SKEW - timedelta(seconds=30)
BEYOND = MAX_SKEW + timedelta(minutes=1)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """ROK and JPN on clocks the test moves, USA on the machine's; SQLite (the clock is no database's business)."""
    base = tmp_path_factory.mktemp("skew")
    clocks = {party: base / f"{party.lower()}-clock.json" for party in (SENDER, BEHIND)}
    for clock in clocks.values():
        set_scenario(clock, datetime.now(UTC))
    net = Network(base, clocks=clocks)
    try:
        net.start()
        yield net
    finally:
        net.close()


def skew(network: Network, party: str, by: timedelta) -> None:
    """Move `party`'s clock `by` away from the machine's (0 to set it right)."""
    set_scenario(network.clocks[party], datetime.now(UTC) + by)


def _rows(network: Network, sent: dict[str, Sent]) -> list[dict[str, object]]:
    return [row for one in sent.values() for row in network.deliveries(one.id)]


class TestWithinTheBound:
    """A clock up to MAX_SKEW away costs nothing: every transfer goes at its first attempt."""

    @pytest.mark.parametrize(("party", "by"), [(SENDER, -WITHIN), (SENDER, WITHIN), (BEHIND, WITHIN)])
    def test_every_transfer_is_delivered_at_its_first_attempt(
        self, network: Network, party: str, by: timedelta
    ) -> None:
        """Skewed by `by`, a party's envelopes and answers are fresh enough for its partners."""
        skew(network, party, by)
        try:
            sent = network.publish(f"within-{party}-{by.total_seconds():.0f}", 6)
            network.settle(sent)
            network.check(sent)
            assert {row["attempts"] for row in _rows(network, sent)} == {1}
        finally:
            skew(network, party, timedelta())


class TestBeyondTheBound:
    """A clock further off is refused as `stale`; the sender retries and loses nothing once the clock is right."""

    @pytest.mark.parametrize(("party", "by"), [(SENDER, -BEYOND), (BEHIND, BEYOND)])
    def test_envelopes_wait_and_arrive_once_after_the_clock_is_set_right(
        self, network: Network, party: str, by: timedelta
    ) -> None:
        """Each refusal says `stale` with both instants; publishes go on; a corrected clock delivers it all."""
        refusing = {BEHIND} if party == BEHIND else {BEHIND, DIRECT}  # a skewed sender is stale for everyone
        skew(network, party, by)
        try:
            sent = network.publish(f"beyond-{party}", 6)

            def refused_twice() -> bool:
                rows = [row for row in _rows(network, sent) if row["to"] in refusing]
                return all(row["state"] == "pending" and int(str(row["attempts"])) >= 2 for row in rows)

            wait_for(refused_twice, 20, lambda: f"not retried as stale: {_rows(network, sent)[:3]}")
            for row in _rows(network, sent):
                if row["to"] in refusing:
                    assert "stale" in str(row["last_error"]), row
                    assert f"more than {MAX_SKEW}" in str(row["last_error"]), row
            for holder in refusing:
                assert not any(network.held(holder)[title] for title in sent), holder
            sent |= network.publish(f"beyond-{party}-more", 3)  # accepted while the clocks disagree
        finally:
            skew(network, party, timedelta())
        network.settle(sent)
        network.check(sent)
