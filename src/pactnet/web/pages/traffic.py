"""The traffic: reports sent and received, newest first, with precedence, marking, route and delivery state.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Live without a framework: `/ui/traffic/events` is a stream of server-sent events (HTML Living Standard §9.2) that
says `changed` when what this user may see changed, and `static/traffic.js` then reloads the table. Without
JavaScript the page is the same, and its Refresh link does the same.
"""

import time
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from pactnet.services import events, sessions, traffic
from pactnet.web.guard import SESSION_COOKIE, Reader
from pactnet.web.templating import Pages

POLL_SECONDS = 1.0  # how often a stream looks at the log's end
STREAM_SECONDS = 60.0  # then the stream ends and the browser reconnects (`retry`): a stopping node is not held
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000
_DIGEST = 32


async def _changes(pages: Pages, request: Request, seen: str) -> AsyncIterator[str]:
    """`changed` whenever the user's view differs from `seen`; ends with the session, the client, or the minute."""
    node = pages.node
    session_id = request.cookies.get(SESSION_COOKIE, "")
    end = time.monotonic() + STREAM_SECONDS
    yield f"retry: {RETRY_MS}\n\n"
    position, last_frame = -1, time.monotonic()
    while time.monotonic() < end and not await request.is_disconnected():
        session = await run_in_threadpool(sessions.current, node, session_id)
        if session is None:
            yield "event: signed-out\ndata: {}\n\n"
            return
        now_at = await run_in_threadpool(events.last_position, node)
        if now_at != position:
            position = now_at
            current = await run_in_threadpool(traffic.digest, node, session.user)
            if current != seen:
                seen = current
                yield f"event: changed\ndata: {current}\n\n"
                last_frame = time.monotonic()
        if time.monotonic() - last_frame >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            last_frame = time.monotonic()
        await anyio.sleep(POLL_SECONDS)


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the traffic page and its stream of changes."""

    @routes.get("/ui/traffic", include_in_schema=False)
    def traffic_page(request: Request, session: Reader) -> Response:
        """The newest reports the user may read, and the state of each transfer."""
        rows = traffic.traffic(pages.node, session.user)
        context = {"rows": rows, "digest": traffic.digest(pages.node, session.user), "most": traffic.MOST}
        return pages.render(request, "traffic.html", session, context)

    @routes.get("/ui/traffic/events", include_in_schema=False)
    def traffic_events(request: Request, _session: Reader) -> StreamingResponse:
        """Server-sent events: `changed` when the user's traffic differs from the page's (`?since=DIGEST`)."""
        seen = request.query_params.get("since", "")[:_DIGEST]
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(_changes(pages, request, seen), media_type="text/event-stream", headers=headers)
