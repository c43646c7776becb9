"""A request that says it is urgent (RFC 9218 `Priority: u=0` or `u=1`) goes ahead of routine work from arrival.

A flash report's precedence is in its body, which is read, parsed and validated, and the token checked, before
the route runs; each of those steps is a turn on the interpreter lock, and while the routine dispatcher lanes
hold it a turn waits for them (under a 10,000-report backlog, the publish request alone had a p99 of ~40 ms). A
client that publishes a flash says so up front with the standard header, and the request is then urgent work
(`pactnet.urgency`) from the moment it arrives until it is answered: the routine lanes give way to it between
two envelopes. Dispatcher lanes send the header with flash and immediate envelopes, so a partner's receiver
does the same.

The header is a hint, never a right: it only reorders this process's work, for the length of one request, and
0.2 s at most per step of routine work (pactnet.urgency). What is stored and how it is sent still follows the
precedence in the signed or validated body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pactnet.federation.outbox import RANKS, URGENT_RANK, is_urgent

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from pactnet.urgency import Urgency

HEADER = "priority"
# RFC 9218 urgencies: 0 (most urgent) to 7; 3 when absent. The outbox's ranks of the precedences are exactly those
# (flash 0, immediate 1, priority 2, routine 3), so a request is urgent work when its urgency is an urgent rank.
DEFAULT_URGENCY = RANKS["routine"]
LAST_URGENCY = 7
MAX_INTEGER_DIGITS = 15


def priority_header(precedence: str) -> dict[str, str]:
    """The request header a client sends with a report or envelope of this precedence (none for the others)."""
    return {HEADER: f"u={RANKS[precedence]}"} if is_urgent(precedence) else {}


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


class UrgentFirst:
    """Marks a request whose Priority header says flash or immediate as urgent work while it is handled."""

    def __init__(self, app: ASGIApp, urgency: Urgency) -> None:
        self.app = app
        self.urgency = urgency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, inside `urgency.running()` if it says it is urgent."""
        if scope["type"] == "http" and _is_urgent(scope):
            with self.urgency.running():
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_urgent(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"priority":
            return urgency_of(value.decode("latin-1")) <= URGENT_RANK
    return False
