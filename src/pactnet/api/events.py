"""The API of live events: `GET /api/v1/events`, a stream of server-sent events for one user (docs/node.md).

No `from __future__ import annotations` here: FastAPI reads the annotations of the routes at run time.
"""

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import FastAPI, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from pactnet.api import schemas
from pactnet.api.auth import InboxViewer
from pactnet.services import events
from pactnet.services.context import Node
from pactnet.services.cursors import Cursors
from pactnet.services.users import User
from pactnet.store.instants import instant_text

POLL_SECONDS = 0.4  # how often a stream looks for new entries in the log
HEARTBEAT_SECONDS = 15.0  # a comment line after this long without a frame, so that proxies keep the connection
RETRY_MS = 1000  # the client's wait before it reconnects (HTML Living Standard §9.2, the `retry` field)
LONGEST_SECONDS = 3600.0
DEFAULT_SECONDS = 300.0
# `node serve` ends what still runs this long after it is told to stop: uvicorn waits for every open response,
# and a stream would hold the server until its `max_seconds`. The client reconnects with its Last-Event-ID.
SHUTDOWN_GRACE_SECONDS = 3

_STREAM_DOC = (
    "A `text/event-stream` (HTML Living Standard §9.2). Frames: `ready` first (its `id` is where the stream "
    "starts), then one per event (`report-received`, `consent-request`, `consent-answer`, `compromise`, "
    "`agreement-changed`, `delivery-failed`), each `data` a JSON object with `type`, `at` and `report`; "
    "comment lines (`: keep-alive`) while nothing happens; `end` when `max_seconds` have passed."
)
FRAMES = ("ready", *events.EVENT_TYPES, "end")
# Before OpenAPI 3.2, an event stream's `schema` describes each event in it.
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"type": "string", "enum": list(FRAMES)},
        "id": {"type": "string", "description": "Opaque: send it back as Last-Event-ID to resume after this frame."},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": _STREAM_DOC, "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}}},
    400: {"model": schemas.ErrorOut, "description": "A Last-Event-ID this node did not give this user"},
}


def _frame(kind: str, cursor: str, body: dict[str, Any]) -> str:
    """One server-sent event; JSON escapes line breaks, so `data` is one line."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"event: {kind}\nid: {cursor}\ndata: {data}\n\n"


class _Stream:
    """One user's stream: from a position, until the deadline, the client leaves, or the user is disabled."""

    def __init__(self, node: Node, who: User, cursors: Cursors, request: Request) -> None:
        self.node, self.who, self.cursors, self.request = node, who, cursors, request

    def _said(self, kind: str, position: int, body: dict[str, Any]) -> str:
        return _frame(kind, self.cursors.seal(position, self.who.id), body)

    def _now(self) -> str:
        return instant_text(self.node.now())

    async def frames(self, position: int, seconds: float) -> AsyncIterator[str]:
        """The frames, polling the log in a worker thread (the database driver blocks)."""
        end = time.monotonic() + seconds
        yield f"retry: {RETRY_MS}\n\n"
        yield self._said("ready", position, {"type": "ready", "at": self._now()})
        last_frame = time.monotonic()
        while (left := end - time.monotonic()) > 0:
            if await self.request.is_disconnected():
                return
            if not await run_in_threadpool(events.is_active, self.node, self.who):
                return  # disabled meanwhile: the token stops working at once, its stream too
            batch = await run_in_threadpool(events.events_after, self.node, self.who, position)
            position = batch.position
            for event in batch.events:
                yield self._said(event.type, event.position, event.body)
                last_frame = time.monotonic()
            if batch.more:
                continue
            if time.monotonic() - last_frame >= HEARTBEAT_SECONDS:
                yield ": keep-alive\n\n"
                last_frame = time.monotonic()
            await anyio.sleep(min(POLL_SECONDS, left))
        # Where the stream read up to, so that a reconnection does not read again what the user may not see.
        yield self._said("end", position, {"type": "end", "at": self._now()})


def add_routes(app: FastAPI, node: Node) -> None:
    """Add the live events route of `node` to its app."""
    cursors = Cursors(node.keys, "events")

    async def watch(
        request: Request,
        who: InboxViewer,
        last_event_id: Annotated[
            str | None,
            Header(alias="Last-Event-ID", description="The `id` of the last frame received, to resume after it."),
        ] = None,
        max_seconds: Annotated[
            float,
            Query(gt=0, le=LONGEST_SECONDS, allow_inf_nan=False, description="How long the stream lasts at most."),
        ] = DEFAULT_SECONDS,
    ) -> StreamingResponse:
        """Events for the user as they happen: only what the user's roles and clearance may see.

        Without Last-Event-ID the stream starts now; with it, right after that frame (400 for an id this node did
        not give this user). Reconnect with the last `id` when the stream ends.
        """
        if last_event_id is not None:
            start = cursors.open(last_event_id, who.id)
        else:
            start = await run_in_threadpool(events.last_position, node)
        frames = _Stream(node, who, cursors, request).frames(start, max_seconds)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # no buffering proxy may hold frames
        return StreamingResponse(frames, media_type="text/event-stream", headers=headers)

    app.get("/api/v1/events", response_class=StreamingResponse, responses=RESPONSES, tags=["events"])(watch)
