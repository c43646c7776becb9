"""Envelopes nobody is proven to have sent cannot grow the audit log without bound (issue 17, item 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pactnet.crypto.keys import NodeKeys
from pactnet.services import audit
from pactnet.services.inbound import receive_batch
from pactnet.services.refusal_tally import BURST, INTERVAL, SUMMARY
from pactnet.store.audit_log import read_entries
from tests.integration.test_hostile_envelopes import rok_and_jpn  # noqa: F401 - the fixture `pair`
from tests.integration.test_inbound import Pair, transfer

if TYPE_CHECKING:
    from pactnet.audit.chain import Entry


def _entries(pair: Pair) -> list[Entry]:
    with pair.jpn.uow.engine.connect() as connection:
        return [entry for entry in read_entries(connection) if entry.kind in {"refused-envelope", SUMMARY}]


def _strangers(pair: Pair, count: int) -> list[dict[str, object]]:
    keys = NodeKeys.generate()
    return [pair.envelope(transfer(), sender="USA", keys=keys) for _ in range(count)]


class TestRefusalsOfUnopenedEnvelopes:
    """A few are audited one by one; the rest are counted, and the count is audited once per interval."""

    def test_a_flood_from_an_unknown_sender_adds_a_bounded_number_of_entries(self, pair: Pair) -> None:
        for _ in range(4):
            receive_batch(pair.jpn, _strangers(pair, 64))
        refused = _entries(pair)
        assert [entry.kind for entry in refused] == ["refused-envelope"] * BURST
        assert all(entry.data["code"] == "unknown-sender" for entry in refused)
        assert audit.verify(pair.jpn).intact

    def test_the_count_is_audited_with_the_first_refusal_after_the_interval(self, pair: Pair) -> None:
        receive_batch(pair.jpn, _strangers(pair, 100))
        forged = pair.envelope(transfer(), keys=NodeKeys.generate())
        receive_batch(pair.jpn, [forged] * 5)
        pair.clock.advance(seconds=INTERVAL.total_seconds() + 1)
        receive_batch(pair.jpn, _strangers(pair, 1))
        refused = _entries(pair)
        assert [entry.kind for entry in refused] == ["refused-envelope"] * BURST + [SUMMARY, "refused-envelope"]
        summary = refused[BURST].data
        assert summary["count"] == 100 + 5 - BURST
        assert summary["codes"] == {"unknown-sender": 100 - BURST, "bad-signature": 5}
        assert audit.verify(pair.jpn).intact

    def test_refusals_that_are_signed_are_still_audited_one_by_one(self, pair: Pair) -> None:
        receive_batch(pair.jpn, _strangers(pair, BURST))
        refused_levels = [pair.envelope(transfer("군사I급비밀", ("pla-navy",))) for _ in range(5)]
        receive_batch(pair.jpn, refused_levels)
        kinds = [entry.kind for entry in _entries(pair)]
        assert kinds == ["refused-envelope"] * (BURST + 5)
