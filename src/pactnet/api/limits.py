"""Bounds on a request's body, enforced while reading it, so that no client can exhaust or stall the node.

The body is read in full here, before the application sees the request: its size is counted as it arrives (413
past the limit, by its Content-Length or as chunks come), the whole of it must arrive within the node's
`request_timeout_ms` (408 past it), and one client (by its address) may have at most `MAX_READING_PER_CLIENT`
bodies on their way at once (503 beyond, with Retry-After). A request is thus complete before anything in the
node, urgency included (pactnet.api.priority), treats it as a request (issue 17, items 3 and 9).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import TYPE_CHECKING

import anyio

from pactnet.api.errors import error_body
from pactnet.federation.client import FEDERATION_PREFIX
from pactnet.taxii.errors import PREFIX as TAXII_PREFIX
from pactnet.taxii.errors import error_resource
from pactnet.taxii.media import TAXII as TAXII_MEDIA

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
# Bodies one client may be sending at once: a partner's dispatcher lanes and a feed's parallel publishes fit.
MAX_READING_PER_CLIENT = 16


class _Refused(Exception):  # noqa: N818 - control flow within this module, never raised out of it
    def __init__(self, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


class BodyLimit:
    """Read a request's body within its size and time limits, then pass the request on with the body in hand.

    `limit` bounds the API's requests; `federation_limit` the partners' (`/federation/`), whose envelopes are
    larger than the reports they carry (pactnet.federation.client.request_limit); `timeout` (seconds) bounds
    how long the body may take to arrive.
    """

    def __init__(self, app: ASGIApp, limit: int, federation_limit: int, timeout: float) -> None:
        self.app = app
        self.api_limit = limit
        self.federation_limit = federation_limit
        self.timeout = timeout
        self.reading: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body, or answer the refusal; then run the application on the body read."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except _Refused as refused:
            await _answer(send, refused, scope["path"])
            return
        if body is None:
            return  # the client went away: nobody to answer
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # what comes next: the client's disconnect

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.federation_limit if scope["path"].startswith(FEDERATION_PREFIX) else self.api_limit
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise _too_large(scope, limit)
        client = scope["client"][0] if scope.get("client") else "?"
        if self.reading[client] >= MAX_READING_PER_CLIENT:
            log.warning("refused a request from %s: %d bodies already on their way", client, MAX_READING_PER_CLIENT)
            raise _Refused(503, "too many requests from this client at once; retry shortly", [(b"retry-after", b"1")])
        self.reading[client] += 1
        try:
            with anyio.move_on_after(self.timeout):
                return await _collect(scope, receive, limit)
            log.warning("refused a request from %s: its body took more than %.1f s", client, self.timeout)
            raise _Refused(408, f"the request body did not arrive within {self.timeout:g} s")
        finally:
            self.reading[client] -= 1
            if not self.reading[client]:
                del self.reading[client]


async def _collect(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise _too_large(scope, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(scope: Scope, limit: int) -> _Refused:
    log.warning("refused a request to %r: its body is larger than %d bytes", scope["path"][:200], limit)
    return _Refused(413, f"the request body is larger than {limit} bytes")


async def _answer(send: Send, refused: _Refused, path: str) -> None:
    if path.startswith(TAXII_PREFIX):  # TAXII 2.1 §3.6.1: its clients read TAXII's error resource
        content = json.dumps(error_resource(refused.status, refused.message)).encode()
        body, media = content, TAXII_MEDIA.encode()
    else:
        body, media = json.dumps(error_body(refused.status, refused.message)).encode(), b"application/json"
    headers = [
        (b"content-type", media),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # what is left of the body is not read
        *refused.headers,
    ]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
