"""A fault-injecting TCP proxy on loopback: it stands between a node and its partner and breaks the link on demand.

The sender's `partners.toml` names the proxy's URL for the partner; the proxy passes bytes to the partner's real
port, or, while a fault holds, does one of these (`Fault`):

- `refuse`: a partition where the partner's host answers nothing on the port (the proxy stops listening, so a
  connection is refused);
- `drop`: a partition where packets vanish (connections are accepted, what is sent is read and never answered;
  the sender waits until its own timeout, or until the partition heals and the proxy cuts the connection);
- `slow`: every byte of the partner's answer is held `ms_per_byte` milliseconds;
- `5xx`: every request is answered with `status` (503 by default) by the proxy, never reaching the partner;
- `garbage`: every request is answered with rubbish: raw bytes that are not HTTP (`bytes`), a 200 whose body is
  not JSON (`not-json`), or a 200 that looks like a batch answer, one answer per envelope sent, whose envelopes are
  forgeries (`answers`);
- `reset`: the request reaches the partner whole, `response_bytes` of its answer come back, then both
  connections are reset (TCP RST): the partner did the work, the sender never learns of it;
- `cut`: only `request_bytes` of the request reach the partner, then both connections are reset.

Changing the fault (and healing, which is setting `PASS`) aborts every connection open at that moment, as a
partition that heals does to connections that outlived it. `counts` tells the test what the proxy did, so that a
test can check the fault really was met. The proxy runs its own asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

if TYPE_CHECKING:
    from collections.abc import Coroutine

Kind = Literal["pass", "refuse", "drop", "slow", "5xx", "garbage", "reset", "cut"]
Garbage = Literal["bytes", "not-json", "answers"]
CHUNK = 65_536
# Headers longer than this are not a request the proxy answers itself.
MAX_HEADERS = 65_536


@dataclass(frozen=True)
class Fault:
    """What the proxy does to the link while the fault holds."""

    kind: Kind = "pass"
    ms_per_byte: float = 0.0  # slow
    status: int = 503  # 5xx
    garbage: Garbage = "answers"  # garbage
    response_bytes: int = 0  # reset: how much of the answer gets through first
    request_bytes: int = 0  # cut: how much of the request gets through first


PASS = Fault()


class FaultProxy:
    """A proxy from a free loopback port to `upstream_port`; `set` a fault, `heal` it, `close` when done."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.port = 0
        self.fault = PASS
        self.counts: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """The URL a sender is given for the partner."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Listen on a free port and pass everything through."""
        self._thread.start()
        self._call(self._listen())
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def set(self, fault: Fault) -> None:
        """Make `fault` hold from now on, for every connection (those open now are cut)."""
        self._call(self._set(fault))

    def heal(self) -> None:
        """Pass everything through again."""
        self.set(PASS)

    def close(self) -> None:
        """Cut every connection, stop listening and stop the loop."""
        if not self._thread.is_alive():
            return
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _set(self, fault: Fault) -> None:
        self.fault = fault
        self.counts[f"set {fault.kind}"] += 1
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()
        if fault.kind == "refuse":
            await self._stop_listening()
        else:
            await self._listen()

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _stop(self) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()
        await self._stop_listening()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.fault
        self.counts["connections"] += 1
        self._open.add(writer)
        try:
            if fault.kind == "drop":
                self.counts["dropped"] += 1
                while await reader.read(CHUNK):  # swallowed, never answered
                    pass
            elif fault.kind in {"5xx", "garbage"}:
                await self._answer(reader, writer, fault)
            else:
                await self._relay(reader, writer, fault)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a connection the fault (or a healing) cut
        finally:
            self._open.discard(writer)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fault: Fault) -> None:
        """Answer each request on the connection without the partner: an error status, or rubbish."""
        while True:
            body = await _read_request(reader)
            if body is None:
                return
            if fault.kind == "5xx":
                self.counts["answered 5xx"] += 1
                writer.write(_response(fault.status, b"upstream unavailable", "text/plain"))
            elif fault.garbage == "bytes":
                self.counts["answered garbage"] += 1
                writer.write(os.urandom(512))
                await writer.drain()
                return
            else:
                self.counts["answered garbage"] += 1
                writer.write(_response(200, _rubbish(fault.garbage, body), "application/json"))
            await writer.drain()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fault: Fault) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        self._open.add(up_writer)
        try:
            forward = asyncio.create_task(self._pump(reader, up_writer, fault, toward_partner=True, peer=writer))
            backward = asyncio.create_task(self._pump(up_reader, writer, fault, toward_partner=False, peer=up_writer))
            done, pending = await asyncio.wait({forward, backward}, return_when=asyncio.FIRST_COMPLETED)
            if backward in done:
                forward.cancel()
            else:  # the sender finished sending; its answer may still be on its way
                await backward
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await task
        finally:
            self._open.discard(up_writer)
            up_writer.close()

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        fault: Fault,
        *,
        toward_partner: bool,
        peer: asyncio.StreamWriter,
    ) -> None:
        """Copy one direction, applying the fault; a reset cuts both connections (`sink` and `peer`)."""
        limit = fault.request_bytes if toward_partner else fault.response_bytes
        cuts = fault.kind == ("cut" if toward_partner else "reset")
        passed = 0
        while data := await source.read(CHUNK):
            if cuts and passed + len(data) > limit:
                sink.write(data[: limit - passed])
                await sink.drain()
                self.counts["resets"] += 1
                _reset(sink)
                _reset(peer)
                return
            if fault.kind == "slow" and not toward_partner:
                await self._trickle(sink, data, fault.ms_per_byte)
            else:
                sink.write(data)
                await sink.drain()
            passed += len(data)
        with contextlib.suppress(OSError, RuntimeError):
            sink.write_eof()

    async def _trickle(self, sink: asyncio.StreamWriter, data: bytes, ms_per_byte: float) -> None:
        """Write `data` a few bytes at a time, so that each byte takes `ms_per_byte` on average."""
        step = max(1, int(5 / ms_per_byte)) if ms_per_byte > 0 else len(data)  # about one write per 5 ms
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            sink.write(piece)
            await sink.drain()
            self.counts["slow bytes"] += len(piece)
            await asyncio.sleep(len(piece) * ms_per_byte / 1000)


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """The body of the next HTTP/1.1 request on the connection (by its Content-Length); None at its end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    if len(head) > MAX_HEADERS:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return await reader.readexactly(length) if length else b""


def _response(status: int, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} Fault\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


def _rubbish(kind: Garbage, request: bytes) -> bytes:
    """A body that is not a batch answer but, for `answers`, looks like one to anything that does not verify it."""
    if kind == "not-json":
        return b"<html>502 Bad Gateway</html>" + os.urandom(64).hex().encode("ascii")
    try:
        sent = len(json.loads(request)["envelopes"])
    except (ValueError, KeyError, TypeError):
        sent = 1
    forged = {
        "format": "pactnet.envelope/1",
        "id": "forged",
        "sender": "JPN",
        "recipient": "ROK",
        "kind": "receipt",
        "sent_at": "2019-07-25T06:00:00+00:00",
        "ephemeral_key": os.urandom(32).hex(),
        "nonce": os.urandom(12).hex(),
        "ciphertext": os.urandom(96).hex(),
        "signature": os.urandom(64).hex(),
    }
    return json.dumps({"answers": [{"envelope": forged} for _ in range(sent)]}).encode("utf-8")


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a FIN: the other side sees 'connection reset by peer'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
