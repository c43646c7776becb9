"""The ids a node makes are random version-4 UUIDs written as uuid.uuid4().hex writes them."""

from __future__ import annotations

import uuid

from pactnet.store.identifiers import new_id


def test_an_id_is_a_version_4_uuid_in_32_lowercase_hex_digits() -> None:
    for _ in range(1000):
        made = new_id()
        parsed = uuid.UUID(hex=made)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert parsed.hex == made


def test_ids_differ_in_their_122_random_bits() -> None:
    made = [uuid.UUID(hex=new_id()).int for _ in range(2000)]
    assert len(set(made)) == len(made)
    fixed = (0xF << 76) | (0x3 << 62)  # the version and variant bits
    varying = 0
    for one in made:
        varying |= one ^ made[0]
    assert varying == ((1 << 128) - 1) & ~fixed
