"""A request that says it is urgent (RFC 9218 `Priority: u=0` or `u=1`) goes first, once complete and authenticated.

A flash report's precedence is in its body, which is validated, and the token checked, before the route runs;
each of those steps is a turn on the interpreter lock, and while the routine dispatcher lanes hold it a turn
waits for them. A client that publishes a flash says so up front with the standard header, and the request is
then urgent work (`pactnet.urgency`) while it is handled: the routine lanes give way to it between two envelopes.

The header is a hint, never a right. Urgency made routine work wait, so it is given only to a request that is
complete (its body read in full within the node's deadline, pactnet.api.limits) and whose bearer token is
valid: a request that sent its headers and never its body counted as urgent from its arrival, forever, and
stalled routine federation traffic (issue 17, item 3). Partners' envelopes (`/federation/`) are authenticated
by their signatures, which only the route can check: a receiver makes a batch urgent work itself once it has
verified an urgent envelope in it (pactnet.federation.inbound). Routine work waits 0.2 s at most per step
(pactnet.urgency), and what is stored and how it is sent still follows the precedence in the signed or
validated body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread

from pactnet.federation.outbox import RANKS, URGENT_RANK, is_urgent

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Receive, Scope, Send

    from pactnet.urgency import Urgency

HEADER = "priority"
API_PREFIX = "/api/"
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
    """Marks an authenticated API request whose Priority header says flash or immediate as urgent while handled.

    Placed inside BodyLimit, so that the request is complete when it is seen here; `authenticated` checks a
    bearer token (it reads the database: it runs in a worker thread, off the event loop).
    """

    def __init__(self, app: ASGIApp, urgency: Urgency, authenticated: Callable[[str], bool]) -> None:
        self.app = app
        self.urgency = urgency
        self.authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, inside `urgency.running()` if it says it is urgent and has earned it."""
        if scope["type"] == "http" and _is_urgent(scope) and await self._earned(scope):
            with self.urgency.running():
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _earned(self, scope: Scope) -> bool:
        if not scope["path"].startswith(API_PREFIX):
            return False
        token = _bearer_token(scope)
        return token is not None and await anyio.to_thread.run_sync(self.authenticated, token)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip()[:200] if scheme.lower() == "bearer" and token.strip() else None
    return None


def _is_urgent(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"priority":
            return urgency_of(value.decode("latin-1")) <= URGENT_RANK
    return False
