"""How the node's API is served: uvicorn's settings, and a deadline on a request's headers.

A client that connects and then sends its request slowly, or never, must not hold anything of the node's for
long (issue 17, item 3). uvicorn bounds what a request's headers may take in memory (h11's
`max_incomplete_event_size`) and how long an idle kept-alive connection stays open (`timeout_keep_alive`), but
not how long a client may take to send its headers: `HeaderDeadline` closes a connection whose request line and
headers are not all in within the node's `request_timeout_ms`. The body's deadline is the ASGI limits
middleware's (pactnet.api.limits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio

# RFC 9112 §2.3: servers bound the request line and header section; 16 KiB holds any pactnet request's.
MAX_HEADER_BYTES = 16 * 1024
# Seconds an idle kept-alive connection stays open for its next request (uvicorn's default).
KEEP_ALIVE = 5


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose next request's headers take longer than `deadline`."""

    deadline: float = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's own
        """Start the clock on the first request's headers as soon as the client connects."""
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Feed h11; the clock runs while a request's headers are incomplete, and stops once they are in."""
        waiting = self._awaiting_headers()
        if waiting:
            self._arm()
        super().data_received(data)
        if not self._awaiting_headers():
            self._disarm()

    def on_response_complete(self) -> None:
        """Hand over to the keep-alive timeout, which bounds an idle connection until its next request."""
        super().on_response_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.deadline, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()  # nothing to answer yet: no request was made


def use_request_timeout(request_timeout_ms: int) -> None:
    """Set the headers' deadline of this process's connections (a worker started by uvicorn sets its own)."""
    HeaderDeadline.deadline = request_timeout_ms / 1000


def server_settings(request_timeout_ms: int) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` and `uvicorn.Config` with the node's bounds on slow clients.

    The protocol is the class itself, not one made per node: uvicorn's workers are spawned processes, which
    receive their configuration pickled, so each sets the deadline again from its node's configuration
    (pactnet.api.asgi).
    """
    use_request_timeout(request_timeout_ms)
    return {
        "http": HeaderDeadline,
        "timeout_keep_alive": KEEP_ALIVE,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "log_level": "warning",
        "access_log": False,  # request lines may carry ids; the audit log records what matters
    }
