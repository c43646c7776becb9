"""The ids a node makes are random UUIDs of version 7 (RFC 9562): ordered by the time they were made."""

from __future__ import annotations

import time
import uuid

from pactnet.store.identifiers import new_id


def test_an_id_is_a_version_7_uuid_in_32_lowercase_hex_digits() -> None:
    for _ in range(1000):
        made = new_id()
        parsed = uuid.UUID(hex=made)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert parsed.hex == made


def test_an_id_begins_with_the_millisecond_it_was_made_in() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= int(made[:12], 16) <= after


def test_ids_made_in_later_milliseconds_sort_later() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_ids_differ_in_their_74_random_bits() -> None:
    made = [uuid.UUID(hex=new_id()).int for _ in range(2000)]
    assert len(set(made)) == len(made)
    random_bits = ((1 << 12) - 1) << 64 | ((1 << 62) - 1)  # rand_a and rand_b (RFC 9562 §5.7)
    varying = 0
    for one in made:
        varying |= (one ^ made[0]) & ~(((1 << 48) - 1) << 80)  # the time may change while they are made
    assert varying == random_bits
