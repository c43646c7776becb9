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
verified an urgent envelope in it (pactnet.services.inbound). Routine work waits 0.2 s at most per step
(pactnet.urgency), and what is stored and how it is sent still follows the precedence in the signed or
validated body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread

from pactnet.federation.priority import HEADER, says_urgent

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Receive, Scope, Send

    from pactnet.urgency import Urgency

API_PREFIX = "/api/"
_HEADER = HEADER.encode("ascii")


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
        if name == _HEADER:
            return says_urgent(value.decode("latin-1"))
    return False
