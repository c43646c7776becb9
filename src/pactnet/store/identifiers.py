"""The ids a node makes for the rows it writes: time-ordered random UUIDs (RFC 9562, version 7), as 32 hex digits.

A report's id, and each of its envelopes' ids, is a key of several indexes (the report's, its decisions', its
outbox rows'), and one row of each is written per report published. Random ids (version 4) put every such insert
at a random page of each index; ids that begin with the time they were made put them at the end, where the pages
are in the cache already: publishing spent 14 % less CPU (bench/README.md, "TAXII"). The time in an id says no
more than the `created` of the report it names, shown wherever the id is.
"""

from __future__ import annotations

import os
import time

_VERSION_BYTE = 6
_VARIANT_BYTE = 8
_NANOSECONDS_PER_MILLISECOND = 1_000_000


def new_id() -> str:
    """A UUID of version 7 as 32 lowercase hex digits: 48 bits of Unix time in milliseconds, then 74 random bits.

    Unique by its random bits whatever the clock does (RFC 9562 §6.2 lets ids made in one millisecond come in any
    order); made from os.urandom without building a uuid.UUID, which checks and converts its value.
    """
    milliseconds = time.time_ns() // _NANOSECONDS_PER_MILLISECOND
    raw = bytearray((milliseconds & 0xFFFF_FFFF_FFFF).to_bytes(6, "big") + os.urandom(10))
    raw[_VERSION_BYTE] = raw[_VERSION_BYTE] & 0x0F | 0x70
    raw[_VARIANT_BYTE] = raw[_VARIANT_BYTE] & 0x3F | 0x80
    return raw.hex()
