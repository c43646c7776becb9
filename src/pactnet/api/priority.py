"""Middleware: a request whose Priority header (RFC 9218 `u=0` or `u=1`) says urgent goes ahead from arrival.

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

from pactnet.federation.priority import HEADER, says_urgent

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from pactnet.urgency import Urgency

_HEADER = HEADER.encode("ascii")


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
        if name == _HEADER:
            return says_urgent(value.decode("latin-1"))
    return False
