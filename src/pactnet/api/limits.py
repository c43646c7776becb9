"""A bound on request bodies, enforced while reading, so that no request can exhaust the node."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pactnet.api.errors import error_body
from pactnet.federation.client import FEDERATION_PREFIX

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Answer 413 when a body is larger than its limit, by its Content-Length or as it arrives.

    `limit` bounds the API's requests; `federation_limit` the partners' (`/federation/`), whose envelopes are
    larger than the reports they carry (pactnet.federation.client.request_limit).
    """

    def __init__(self, app: ASGIApp, limit: int, federation_limit: int) -> None:
        self.app = app
        self.api_limit = limit
        self.federation_limit = federation_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.federation_limit if scope["path"].startswith(FEDERATION_PREFIX) else self.api_limit
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0
        too_large = False

        async def counting() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                started = True
                await self._refuse(send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting, sending)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(error_body(413, f"the request body is larger than {limit} bytes")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
