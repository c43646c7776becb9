"""A dispatcher's batch goes in as many requests as keep each under the partner's limit, in order."""

from __future__ import annotations

from typing import Any

from pactnet.federation.client import envelope_size, request_limit, requests_within


def _envelope(number: int, size: int) -> dict[str, Any]:
    return {"id": f"e{number}", "ciphertext": "A" * size}


def test_a_batch_of_small_envelopes_is_one_request() -> None:
    batch = [_envelope(n, 100) for n in range(64)]
    assert requests_within(batch, request_limit(1_048_576)) == [batch]


def test_large_envelopes_are_split_in_order_each_request_under_the_limit() -> None:
    limit = request_limit(8192)
    batch = [_envelope(n, 10_000) for n in range(7)]
    parts = requests_within(batch, limit)
    assert len(parts) > 1
    assert [one for part in parts for one in part] == batch
    assert all(sum(envelope_size(one) for one in part) <= limit for part in parts)


def test_an_envelope_larger_than_the_limit_still_goes_alone() -> None:
    batch = [_envelope(0, 100), _envelope(1, 500_000), _envelope(2, 100)]
    assert requests_within(batch, request_limit(1024)) == [[batch[0]], [batch[1]], [batch[2]]]


def test_the_limit_leaves_room_for_the_largest_report_a_node_accepts() -> None:
    body = 1_048_576
    sealed = body * 4 // 3 + 4096  # base64 of the encrypted payload, and the envelope's header
    assert request_limit(body) > sealed
