"""What the TAXII benchmark measures, through `taxii2-client` only: any TAXII 2.1 server, given its discovery URL.

Ingest (envelopes posted, then every status polled until complete), read (pages followed with `next` while
`more`), and GET of an object by id. Nothing here knows which server it talks to.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taxii2client.v21 import Server, as_pages

from machine import percentile

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from taxii2client.v21 import Collection

    from taxii_servers import Target

STATUS_TIMEOUT = 600.0  # seconds to wait for every status to be complete
STATUS_POLL = 0.02


@dataclass(slots=True)
class Figure:
    """One measured phase: how many objects in how long, the server's CPU, and what went wrong."""

    objects: int
    seconds: float
    server_cpu: float
    client_cpu: float  # this process (the taxii2-client side), for telling the two apart on a loaded machine
    load: float  # one-minute load average at the end
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else float("nan")

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        out: dict[str, Any] = {
            "objects": self.objects,
            "seconds": round(self.seconds, 3),
            "objects_per_second": round(self.rate, 1),
            "server_cpu_seconds": round(self.server_cpu, 2),
            "objects_per_server_cpu_second": round(self.objects / self.server_cpu, 1) if self.server_cpu else None,
            "client_cpu_seconds": round(self.client_cpu, 2),
            "load_1min": self.load,
            "problems": self.problems[:20],
            "problem_count": len(self.problems),
        }
        if ordered:
            out |= {
                "samples": len(ordered),
                "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
                "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
                "max_ms": round(ordered[-1] * 1000, 2),
            }
        return out


def collections_of(target: Target) -> tuple[Collection, Collection]:
    """The collection to post to and the one to read from, found by title through discovery."""
    server = Server(target.discovery, user=target.user, password=target.password)
    root = server.default or server.api_roots[0]
    found = root.collections
    writable = [one for one in found if one.can_write and target.write_title in {None, one.title}]
    if not writable:
        titles = ", ".join(repr(one.title) for one in found)
        raise RuntimeError(f"{target.name}: no writable collection titled {target.write_title!r} among {titles}")
    write = writable[0]
    if target.read_title is None:
        return write, write
    readable = [one for one in found if one.can_read and one.title == target.read_title]
    if not readable:
        titles = ", ".join(repr(one.title) for one in found)
        raise RuntimeError(f"{target.name}: no readable collection titled {target.read_title!r} among {titles}")
    return write, readable[0]


def _timed(target: Target, work: Callable[[Figure], None]) -> Figure:
    figure = Figure(0, 0.0, 0.0, 0.0, 0.0)
    cpu, client = target.cpu_seconds(), time.process_time()
    start = time.perf_counter()
    work(figure)
    figure.seconds = time.perf_counter() - start
    figure.server_cpu = target.cpu_seconds() - cpu
    figure.client_cpu = time.process_time() - client
    figure.load = round(os.getloadavg()[0], 2)
    return figure


def ingest(target: Target, collection: Collection, envelopes: Sequence[dict[str, Any]], data: set[str]) -> Figure:
    """Post every envelope (not waiting), then poll each status until complete; counts the data objects."""

    def work(figure: Figure) -> None:
        statuses = [collection.add_objects(envelope, wait_for_completion=False) for envelope in envelopes]
        deadline = time.monotonic() + STATUS_TIMEOUT
        for status in statuses:
            while status.status != "complete":
                if time.monotonic() > deadline:
                    figure.problems.append(f"status {status.id} still {status.status} after {STATUS_TIMEOUT} s")
                    break
                time.sleep(STATUS_POLL)
                status.refresh()
        succeeded = {one["id"] for status in statuses for one in (status.successes or [])}
        for status in statuses:
            figure.problems.extend(
                f"{one['id']}: {one.get('message', 'failed')}" for one in (status.failures or []) if one["id"] in data
            )
        missing = data - succeeded
        if missing:
            figure.problems.append(f"{len(missing)} data objects not among the statuses' successes")
        figure.objects = len(data & succeeded)

    return _timed(target, work)


def read(target: Target, collection: Collection, page: int, data: set[str]) -> Figure:
    """Every page of the collection, following `next` while `more`; counts every object served."""

    def work(figure: Figure) -> None:
        seen: set[str] = set()
        for envelope in as_pages(collection.get_objects, per_request=page):
            objects = envelope.get("objects", [])
            figure.objects += len(objects)
            seen.update(obj["id"] for obj in objects)
        missing = data - seen
        if missing:
            figure.problems.append(f"{len(missing)} of the {len(data)} data objects never served")

    return _timed(target, work)


def get_by_id(target: Target, collection: Collection, ids: Sequence[str], budget: float, minimum: int) -> Figure:
    """GET each object by id, in a seeded order, until all are done or `budget` seconds have passed."""
    order = list(ids)
    random.Random(15).shuffle(order)

    def work(figure: Figure) -> None:
        deadline = time.monotonic() + budget
        for obj_id in order:
            if time.monotonic() > deadline and len(figure.latencies) >= minimum:
                break
            start = time.perf_counter()
            envelope = collection.get_object(obj_id)
            figure.latencies.append(time.perf_counter() - start)
            if [obj["id"] for obj in envelope.get("objects", [])][:1] != [obj_id]:
                figure.problems.append(f"GET {obj_id} did not serve it")
        figure.objects = len(figure.latencies)

    return _timed(target, work)
