"""Clocks that disagree within the freshness bound, or that are set back: the outbox neither stalls nor loses.

Nodes in this process on real loopback HTTP (tests.integration.test_federation's `federation`), each site on a
clock the test moves by hand. Two defects these tests found (both in pactnet.federation.dispatcher):

- a retry scheduled while the node's clock ran ahead was not due again until the clock caught up with it: set
  back by an hour (as NTP steps a clock), the outbox stalled for that hour;
- a transfer of an item "created" later than the deciding node's clock was cancelled as `report-not-created`:
  at a hub whose clock is a few seconds behind the originator's (well within MAX_SKEW, so its envelopes are
  accepted), every relayed item was lost. It is now postponed until it exists by that clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from tests.integration import test_federation
from tests.integration.conftest import Clock
from tests.integration.test_federation import AFTER_THE_END, JULY

if TYPE_CHECKING:
    from tests.integration.test_federation import Make

# The fixtures of test_federation, made this module's too.
backend = test_federation.backend
federation = test_federation.federation


class TestClockSetBack:
    """A node whose clock ran ahead and was set back sends what it holds, and what it made meanwhile in time."""

    def test_a_retry_scheduled_while_the_clock_ran_ahead_is_due_once_it_is_set_back(self, federation: Make) -> None:
        """The retry's instant is further ahead than any backoff: it is taken at once."""
        fed = federation("gsomia-2019", JULY, parties=["ROK", "JPN"], down=("JPN",))
        rok, jpn = fed["ROK"], fed["JPN"]
        published = rok.publish(recipients=["JPN"])
        fed.clock.advance(hours=1)  # the clock runs ahead
        fed.dispatch()  # JPN is down: a retry is scheduled an hour ahead of the real time
        [row] = rok.deliveries(published["id"])
        assert (row["state"], row["attempts"]) == ("pending", 1)
        fed.clock.advance(hours=-1, minutes=1)  # set right
        jpn.up()
        fed.dispatch()
        assert [row["state"] for row in rok.deliveries(published["id"])] == ["delivered"]
        assert len(jpn.received("ROK", published["id"])) == 1
        assert rok.verified()
        assert jpn.verified()

    def test_an_item_made_while_the_clock_ran_ahead_waits_until_it_exists_and_is_not_cancelled(
        self, federation: Make
    ) -> None:
        """Its `created` is in the future once the clock is right: it may not go yet, and is not lost."""
        fed = federation("gsomia-2019", JULY, parties=["ROK", "JPN"], down=("JPN",))
        rok, jpn = fed["ROK"], fed["JPN"]
        fed.clock.advance(hours=1)
        published = rok.publish(recipients=["JPN"])
        fed.dispatch()
        fed.clock.advance(hours=-1)
        jpn.up()
        fed.dispatch()
        [row] = rok.deliveries(published["id"])
        assert row["state"] == "pending", row
        assert "not sent yet" in row["last_error"], row
        assert "does not exist before" in row["last_error"], row
        assert jpn.received("ROK", published["id"]) == []
        fed.clock.advance(hours=1)
        fed.dispatch()
        assert [row["state"] for row in rok.deliveries(published["id"])] == ["delivered"]
        assert len(jpn.received("ROK", published["id"])) == 1
        assert rok.verified()


class TestHubBehindTheOriginator:
    """A hub whose clock is a little behind the originator's relays the item once it exists by its clock."""

    def test_the_hub_postpones_the_onward_leg_and_delivers_it(self, federation: Make) -> None:
        """Three seconds behind: the envelope is fresh, the item is three seconds in the hub's future."""
        fed = federation("gsomia-2019-no-suspension", AFTER_THE_END, down=("USA",))
        rok, jpn, usa = fed["ROK"], fed["JPN"], fed["USA"]
        usa.clock = Clock(AFTER_THE_END - timedelta(seconds=3))
        usa.up()
        missile = rok.publish(body="launch at 05:59", recipients=["JPN"])
        rok.post(f"/api/v1/reports/{missile['id']}/consents", {"arrangement": "TISA-2014"})
        fed.dispatch()
        [held] = usa.received("ROK", missile["id"])
        [onward] = usa.deliveries(held.id)
        assert (onward["to"], onward["state"]) == ("JPN", "pending"), onward
        assert "does not exist before" in onward["last_error"], onward
        usa.clock.advance(seconds=3)
        fed.dispatch()
        [onward] = usa.deliveries(held.id)
        assert (onward["to"], onward["state"]) == ("JPN", "delivered"), onward
        assert len(jpn.received("ROK", missile["id"])) == 1
        assert all(fed[party].verified() for party in ("ROK", "USA", "JPN"))
