"""The Priority header (RFC 9218) as nodes and clients use it: which precedences say they are urgent, and how.

A flash or immediate report or envelope is sent with `Priority: u=0` or `u=1`, so that the receiving process
takes it as urgent work from the moment it arrives (pactnet.api.priority); the precedences' ranks are exactly
RFC 9218's urgencies (flash 0, immediate 1, priority 2, routine 3).
"""

from __future__ import annotations

from pactnet.policy.precedence import URGENT_RANK, Precedence, is_urgent, rank_of

HEADER = "priority"
# RFC 9218 urgencies: 0 (most urgent) to 7; 3 when absent, which is routine's rank.
DEFAULT_URGENCY = Precedence.ROUTINE.rank
LAST_URGENCY = 7
MAX_INTEGER_DIGITS = 15


def priority_header(precedence: str) -> dict[str, str]:
    """The request header a client sends with a report or envelope of this precedence (none for the others)."""
    return {HEADER: f"u={rank_of(precedence)}"} if is_urgent(precedence) else {}


def urgency_of(value: str) -> int:
    """The urgency (`u`) of an RFC 9218 Priority field value; the default for one that names none or is not valid.

    The field is a structured-field dictionary (`u=0, i`); only `u` matters here, an integer from 0 to 7.
    """
    for member in value.split(","):
        key, _, given = member.strip().partition("=")
        if key.strip() == "u":
            given = given.strip()
            # An sf-integer has at most 15 digits (RFC 8941): a longer run is no urgency, and int() of thousands
            # of digits would raise.
            if given.isascii() and given.isdigit() and len(given) <= MAX_INTEGER_DIGITS and int(given) <= LAST_URGENCY:
                return int(given)
            return DEFAULT_URGENCY
    return DEFAULT_URGENCY


def says_urgent(value: str) -> bool:
    """Whether a Priority field value asks for urgent handling (flash or immediate)."""
    return urgency_of(value) <= URGENT_RANK
