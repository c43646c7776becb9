"""Benchmark federation between two nodes: flash latency under a routine backlog, delivery rate, memory.

Two real `pactnet node serve` processes (ROK and JPN, world gsomia-2019, real clock) on loopback ports, created
with `pactnet.cluster` in a temporary directory on SQLite; ROK publishes dprk-missile reports at 군사II급비밀 to
JPN only, and its dispatcher sends them. Every server started here is stopped at the end, also on an error,
Ctrl-C or SIGTERM.

1. flash latency: with JPN stopped, ROK takes a backlog of routine reports (batch publish); JPN is started, and
   once the backlog is draining, flash reports are published one at a time on a fixed schedule. Latency is the
   wall time from just before the publish request to the moment the sender's database shows the transfer
   `delivered` (the receiver's signed receipt verified and stored), polled every millisecond on a read-only
   connection; also the node's own instants (`settled_at - created_at` of the outbox row).
2. delivery rate: N routine reports published back to back in batches of 100 while the dispatcher sends them;
   reports/s from the first publish request to the last delivery.
3. memory: VmRSS and VmHWM (/proc/PID/status) of both serve processes once --reports reports are stored and
   delivered (and again after a restart, with nothing but a health check and one read).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from machine import cpu_model, percentile, process_cpu_seconds, source_state
from pactnet.cluster import ClusterNode, create_cluster
from pactnet.federation.client import PartnerClient
from pactnet.federation.dispatcher import Dispatcher
from pactnet.federation.priority import priority_header
from pactnet.node import open_node
from pactnet.services import ServiceError, inbound, reports, users
from pactnet.store.instants import parse_instant_text
from pactnet.store.writer import GroupCommitter

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Connection

    from pactnet.crypto.tls import PartnerTls
    from pactnet.node import Node

T = TypeVar("T")

# The figures asked for, on loopback, on this 2-core machine.
TARGET_FLASH_P99_MS = 50.0
TARGET_DELIVERED_PER_SECOND = 500.0
TARGET_RSS_MB = 300.0

WORLD = "gsomia-2019"
SENDER, RECEIVER = "ROK", "JPN"
LEVEL = "군사II급비밀"
CATEGORY = "dprk-missile"
BATCH = 100  # the batch route's limit (api.schemas.MAX_BATCH)
# ROK retries JPN quickly once it is back (the defaults back off up to 30 s): only the backlog phase needs it.
RETRY = {"retry_first_ms": 100, "retry_longest_ms": 250}


# -- environment -----------------------------------------------------------------------------------------
def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (resident high-water mark) of a process, in MB (10^6 bytes)."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            found[key] = int(value.split()[0]) * 1024 / 1e6
    return found


# -- the cluster ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Options:
    backlog: int
    flashes: int
    flash_interval: float
    idle_flashes: int
    throughput: int
    reports: int
    runs: int
    dispatch_batch: int | None
    restart: bool
    verify: bool
    poll: float
    body_bytes: int
    workdir: Path | None
    keep: bool
    profile: int
    top: int


def report_body(precedence: str, number: int, size: int) -> dict[str, Any]:
    return {
        "title": f"bench {precedence} {number}",
        "level": LEVEL,
        "categories": [CATEGORY],
        "precedence": precedence,
        "body": f"{number:08d} " + "x" * max(0, size - 9),
        "recipients": [RECEIVER],
    }


class Sender:
    """ROK's side, as the benchmark sees it: its API (the officer's token) and its database, read-only."""

    def __init__(self, node: ClusterNode) -> None:
        self.node = node
        self.http = httpx.Client(base_url=node.url, headers=node.headers, timeout=120)
        self.published = 0
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """A read-only connection to the sender's SQLite database (WAL: it reads beside the writer)."""
        if self._db is None:
            self._db = sqlite3.connect(
                f"file:{self.node.folder / 'node.db'}?mode=ro", uri=True, check_same_thread=False
            )
        return self._db

    def close(self) -> None:
        self.http.close()
        if self._db is not None:
            self._db.close()
            self._db = None

    def publish_batches(self, count: int, precedence: str, size: int) -> float:
        """Publish `count` reports in batches of 100, back to back; the seconds it took."""
        start = time.perf_counter()
        while count > 0:
            chunk = min(BATCH, count)
            bodies = [report_body(precedence, self.published + i, size) for i in range(chunk)]
            response = self.http.post("/api/v1/reports/batch", json={"reports": bodies})
            if response.status_code != httpx.codes.CREATED:
                raise RuntimeError(f"batch publish answered {response.status_code}: {response.text[:500]}")
            for result in response.json()["results"]:
                if not any(d["to"] == RECEIVER and d["allowed"] for d in result["decisions"]):
                    raise RuntimeError(f"the transfer to {RECEIVER} was not allowed: {result}")
            self.published += chunk
            count -= chunk
        return time.perf_counter() - start

    def publish_one(self, precedence: str, size: int) -> str:
        # As a client should: a flash says so in its Priority header (RFC 9218), for the node to take it first.
        body, headers = report_body(precedence, self.published, size), priority_header(precedence)
        response = self.http.post("/api/v1/reports", json=body, headers=headers)
        if response.status_code != httpx.codes.CREATED:
            raise RuntimeError(f"publish answered {response.status_code}: {response.text[:500]}")
        self.published += 1
        report_id: str = response.json()["id"]
        return report_id

    def pending(self) -> int:
        row = self.db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
        return int(row[0])

    def states(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())

    def wait_drained(self, timeout: float, log: Callable[[str], None], what: str) -> float:
        """Wait until nothing is pending; the instant (perf_counter) it was seen so."""
        deadline = time.perf_counter() + timeout
        last_log = time.perf_counter()
        while True:
            left = self.pending()
            now = time.perf_counter()
            if left == 0:
                return now
            if now > deadline:
                raise RuntimeError(f"{what}: {left} transfers still pending after {timeout:.0f} s: {self.states()}")
            if now - last_log > 10:  # noqa: PLR2004
                log(f"  {what}: {left:,} pending")
                last_log = now
            time.sleep(0.02)


@dataclass(slots=True)
class Flash:
    report_id: str
    sent: float  # perf_counter just before the publish request
    answered: float = 0.0  # the publish request's answer
    delivered: float = 0.0  # first poll that saw the row delivered
    state: str = "pending"


class Watcher:
    """Polls the sender's outbox for the flash reports' rows, every `poll` seconds, in a thread of its own."""

    def __init__(self, sender: Sender, poll: float) -> None:
        # Its own connection: sqlite3 connections are not shared between threads here.
        self.db = sqlite3.connect(f"file:{sender.node.folder / 'node.db'}?mode=ro", uri=True, check_same_thread=False)
        self.poll = poll
        self.flashes: list[Flash] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)
        self._thread.start()

    def add(self, flash: Flash) -> None:
        with self._lock:
            self.flashes.append(flash)

    def outstanding(self) -> int:
        with self._lock:
            return sum(1 for one in self.flashes if one.state == "pending")

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                waiting = {one.report_id: one for one in self.flashes if one.state == "pending"}
            if waiting:
                marks = ",".join("?" * len(waiting))
                rows = self.db.execute(
                    f"SELECT report_id, state FROM outbox WHERE report_id IN ({marks}) AND state != 'pending'",  # noqa: S608
                    list(waiting),
                ).fetchall()
                now = time.perf_counter()
                for report_id, state in rows:
                    flash = waiting[report_id]
                    flash.delivered, flash.state = now, state
            time.sleep(self.poll)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.db.close()


def cpu_of(nodes: dict[str, ClusterNode]) -> dict[str, float]:
    return {party: process_cpu_seconds(node.process.pid) for party, node in nodes.items() if node.process}


def summary(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def timeline_ms(sender: Sender, receiver: ClusterNode, report_ids: list[str]) -> dict[str, list[float]]:
    """The flashes' own instants (one clock: both nodes run on this machine), in ms: published (`created_at` of the
    outbox row) to received (`received_at` of the envelope at the receiver, written in its transaction), received
    to settled (`settled_at`, written in the sender's transaction), and published to settled."""
    marks = ",".join("?" * len(report_ids))
    rows = sender.db.execute(
        f"SELECT envelope_id, created_at, settled_at FROM outbox WHERE report_id IN ({marks})"  # noqa: S608
        " AND settled_at IS NOT NULL",
        report_ids,
    ).fetchall()
    with contextlib.closing(sqlite3.connect(f"file:{receiver.folder / 'node.db'}?mode=ro", uri=True)) as db:
        received = dict(
            db.execute(
                f"SELECT id, received_at FROM envelopes WHERE id IN ({','.join('?' * len(rows))})",  # noqa: S608
                [row[0] for row in rows],
            ).fetchall()
        )
    found: dict[str, list[float]] = {"published_to_received": [], "received_to_settled": [], "published_to_settled": []}
    for envelope, created, settled in rows:
        created_at, settled_at = parse_instant_text(created), parse_instant_text(settled)
        found["published_to_settled"].append((settled_at - created_at).total_seconds() * 1000)
        if envelope in received:
            received_at = parse_instant_text(received[envelope])
            found["published_to_received"].append((received_at - created_at).total_seconds() * 1000)
            found["received_to_settled"].append((settled_at - received_at).total_seconds() * 1000)
    return found


def send_flashes(
    sender: Sender, count: int, interval: float, options: Options, watcher: Watcher
) -> tuple[list[Flash], int, int]:
    """Publish `count` flash reports one at a time, one every `interval` s (open loop); the routine rows pending
    when the first was sent and when the last was delivered."""
    flashes: list[Flash] = []
    pending_first = sender.pending()
    start = time.perf_counter()
    for number in range(count):
        slot = start + number * interval
        delay = slot - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        report_id = sender.publish_one("flash", options.body_bytes)
        flash = Flash(report_id, sent, time.perf_counter())
        watcher.add(flash)
        flashes.append(flash)
    deadline = time.perf_counter() + 120
    while watcher.outstanding() and time.perf_counter() < deadline:
        time.sleep(0.005)
    pending_last = sender.pending()
    return flashes, pending_first, pending_last


def flash_results(sender: Sender, receiver: ClusterNode, flashes: list[Flash]) -> dict[str, Any]:
    delivered = [one for one in flashes if one.state == "delivered"]
    ids = [one.report_id for one in flashes]
    # The API view too: every flash's deliveries, as an officer would read them.
    api_states: dict[str, int] = {}
    for report_id in ids:
        rows = sender.http.get(f"/api/v1/reports/{report_id}/deliveries").json()
        for row in rows:
            api_states[row["state"]] = api_states.get(row["state"], 0) + 1
    return {
        "sent": len(flashes),
        "delivered": len(delivered),
        "not_delivered": {one.report_id: one.state for one in flashes if one.state != "delivered"},
        "latency_ms": summary([(one.delivered - one.sent) * 1000 for one in delivered]),
        "publish_ms": summary([(one.answered - one.sent) * 1000 for one in flashes]),
        "node_instants_ms": {key: summary(values) for key, values in timeline_ms(sender, receiver, ids).items()},
        "api_states": api_states,
    }


def phase_flash(
    nodes: dict[str, ClusterNode], sender: Sender, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    rok, jpn = nodes[SENDER], nodes[RECEIVER]
    watcher = Watcher(sender, options.poll)
    try:
        if options.idle_flashes:
            log(f"flash: {options.idle_flashes} flash reports with nothing else queued")
            flashes, _, _ = send_flashes(sender, options.idle_flashes, options.flash_interval, options, watcher)
            results["idle"] = flash_results(sender, jpn, flashes)
        log(f"flash: {RECEIVER} stopped; {SENDER} takes a backlog of {options.backlog:,} routine reports")
        jpn.stop()
        seconds = sender.publish_batches(options.backlog, "routine", options.body_bytes)
        results["backlog_publish_seconds"] = seconds
        results["backlog_pending"] = sender.pending()
        log(f"  published in {seconds:.1f} s ({options.backlog / seconds:,.0f}/s); {RECEIVER} started again")
        cpu_before = {SENDER: process_cpu_seconds(rok.process.pid)} if rok.process else {}
        restarted = time.perf_counter()
        jpn.start()
        cpu_before[RECEIVER] = process_cpu_seconds(jpn.process.pid) if jpn.process else 0.0
        # Flashes go once the backlog is really draining (ROK has noticed JPN is back).
        start_pending = sender.pending()
        while sender.pending() >= start_pending and time.perf_counter() - restarted < 30:  # noqa: PLR2004
            time.sleep(0.005)
        log(
            f"flash: {options.flashes} flash reports, one every {options.flash_interval * 1000:.0f} ms, while it drains"
        )
        flashes, pending_first, pending_last = send_flashes(
            sender, options.flashes, options.flash_interval, options, watcher
        )
        results["under_load"] = flash_results(sender, jpn, flashes) | {
            "routine_pending_at_first": pending_first,
            "routine_pending_at_last_delivered": pending_last,
        }
        log(f"  routine pending: {pending_first:,} at the first flash, {pending_last:,} when the last was delivered")
        drained = sender.wait_drained(1800, log, "backlog")
        cpu_after = cpu_of(nodes)
        total = options.backlog + options.flashes
        results["backlog_drain"] = {
            "seconds": drained - restarted,
            "per_second": total / (drained - restarted),
            "cpu_ms_per_report": {p: (cpu_after[p] - cpu_before[p]) * 1000 / total for p in cpu_after},
        }
    finally:
        watcher.close()
    return results


def phase_throughput(
    nodes: dict[str, ClusterNode], sender: Sender, count: int, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    log(f"throughput: {count:,} routine reports published back to back (batches of {BATCH}) while they are sent")
    first_seq = sender.db.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0]
    load_before = os.getloadavg()[0]
    cpu_before = cpu_of(nodes)
    client_before = time.process_time()
    start = time.perf_counter()
    publish_seconds = sender.publish_batches(count, "routine", options.body_bytes)
    done = sender.wait_drained(1800, log, "throughput")
    seconds = done - start
    cpu_after = cpu_of(nodes)
    client_cpu = time.process_time() - client_before
    rows = sender.db.execute(
        "SELECT count(*), min(created_at), max(settled_at),"
        " (julianday(max(settled_at)) - julianday(min(created_at))) * 86400.0 FROM outbox"
        " WHERE seq > ? AND state = 'delivered'",
        (first_seq,),
    ).fetchone()
    delivered, node_seconds = int(rows[0]), float(rows[3] or "nan")
    results = {
        "reports": count,
        "delivered": delivered,
        "seconds": seconds,
        "per_second": delivered / seconds,
        "publish_seconds": publish_seconds,
        "publish_per_second": count / publish_seconds,
        "node_seconds": node_seconds,
        "node_per_second": delivered / node_seconds,
        "cpu_ms_per_report": {p: (cpu_after[p] - cpu_before[p]) * 1000 / count for p in cpu_after},
        "client_cpu_ms_per_report": client_cpu * 1000 / count,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg()[0],
    }
    log(f"  {delivered:,} delivered in {seconds:.1f} s: {delivered / seconds:,.0f}/s")
    return results


def stored_counts(nodes: dict[str, ClusterNode]) -> dict[str, Any]:
    """Reports stored at each node; at the receiver, copies per item (exactly once: one each)."""
    counts: dict[str, Any] = {}
    for party, node in nodes.items():
        with contextlib.closing(sqlite3.connect(f"file:{node.folder / 'node.db'}?mode=ro", uri=True)) as db:
            counts[party] = {
                "reports": db.execute("SELECT count(*) FROM reports").fetchone()[0],
                "received": db.execute("SELECT count(*) FROM reports WHERE received_from IS NOT NULL").fetchone()[0],
                "distinct_received": db.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT originator, origin_id FROM reports"
                    " WHERE received_from IS NOT NULL)"
                ).fetchone()[0],
                "envelopes_received": db.execute("SELECT count(*) FROM envelopes").fetchone()[0],
                "outbox": dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()),
                "audit_entries": db.execute("SELECT count(*) FROM audit_entries").fetchone()[0],
                "audit_kinds": dict(
                    db.execute(
                        "SELECT kind, count(*) FROM audit_entries WHERE kind IN"
                        " ('delivered', 'receive', 'replayed-envelope', 'refused-envelope', 'cancelled')"
                        " GROUP BY kind"
                    ).fetchall()
                ),
                "database_mb": sum(path.stat().st_size for path in node.folder.glob("node.db*") if path.is_file())
                / 1e6,
            }
    return counts


def phase_memory(
    nodes: dict[str, ClusterNode], sender: Sender, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    more = options.reports - sender.published
    results: dict[str, Any] = {}
    if more > 0:
        log(f"memory: {more:,} more routine reports, to {options.reports:,} published, then all delivered")
        start = time.perf_counter()
        seconds = sender.publish_batches(more, "routine", options.body_bytes)
        log(f"  published in {seconds:.1f} s; waiting for delivery")
        done = sender.wait_drained(3600, log, "memory")
        results["fill_seconds"] = done - start
    results["published"] = sender.published
    results["rss_mb"] = {party: memory_mb(node.process.pid) for party, node in nodes.items() if node.process}
    results["stored"] = stored_counts(nodes)
    if options.restart:
        log("memory: both nodes restarted; RSS after a health check and one read")
        sender.close()
        for node in nodes.values():
            node.stop()
        for node in nodes.values():
            node.start()
        sender.http = httpx.Client(base_url=nodes[SENDER].url, headers=nodes[SENDER].headers, timeout=120)
        sender.http.get("/api/v1/reports", params={"limit": 50}).raise_for_status()
        httpx.get(
            f"{nodes[RECEIVER].url}/api/v1/reports", headers=nodes[RECEIVER].headers, params={"limit": 50}
        ).raise_for_status()
        results["rss_after_restart_mb"] = {
            party: memory_mb(node.process.pid) for party, node in nodes.items() if node.process
        }
    return results


def verify_audit(nodes: dict[str, ClusterNode]) -> dict[str, Any]:
    """`pactnet audit verify --json` of each (stopped) node."""
    found: dict[str, Any] = {}
    for party, node in nodes.items():
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pactnet", "audit", "verify", str(node.folder), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            answer = {"output": (done.stdout + done.stderr)[-500:]}
        found[party] = {"exit": done.returncode, "intact": answer.get("intact"), "entries": answer.get("entries")}
    return found


def tracebacks(nodes: dict[str, ClusterNode]) -> dict[str, int]:
    counts = {}
    for party, node in nodes.items():
        try:
            counts[party] = (node.folder / "serve.log").read_text(encoding="utf-8", errors="replace").count("Traceback")
        except OSError:
            counts[party] = 0
    return counts


def one_run(root: Path, number: int, options: Options, log: Callable[[str], None]) -> dict[str, Any]:
    settings: dict[str, Any] = dict(RETRY)
    if options.dispatch_batch:
        settings["dispatch_batch"] = options.dispatch_batch
    base = root / f"run{number}"
    nodes = create_cluster(base, WORLD, [SENDER, RECEIVER], settings=settings)
    results: dict[str, Any] = {"folder": str(base)}
    sender: Sender | None = None
    try:
        for node in nodes.values():
            node.start()
        sender = Sender(nodes[SENDER])
        results["rss_started_mb"] = {
            party: memory_mb(node.process.pid) for party, node in nodes.items() if node.process
        }
        if options.backlog or options.flashes or options.idle_flashes:
            results["flash"] = phase_flash(nodes, sender, options, log)
        if options.throughput:
            results["throughput"] = phase_throughput(nodes, sender, options.throughput, options, log)
        results["memory"] = phase_memory(nodes, sender, options, log)
    finally:
        if sender is not None:
            sender.close()
        for node in nodes.values():
            node.stop()
    results["tracebacks"] = tracebacks(nodes)
    if options.verify:
        log("audit verify of both nodes")
        results["audit"] = verify_audit(nodes)
    return results


# -- profile: the same path in one process, cProfile ------------------------------------------------------
class InThreadWriter(GroupCommitter):
    """A node's writer that runs each write in the caller's thread, one transaction each, so cProfile sees it."""

    def run(self, job: Callable[[Connection], T], *, urgent: bool = False) -> T:  # noqa: ARG002 - all in turn
        with self.engine.begin() as connection:
            return job(connection)


class LocalPartner(PartnerClient):
    """Hands each batch of envelopes to the receiving node's `inbound.receive_batch` in this process (no HTTP)."""

    def __init__(self, receiver: Node) -> None:
        super().__init__()
        self.receiver = receiver
        self.receiver_cpu = 0.0

    def post(
        self, url: str, envelopes: list[dict[str, Any]], *, urgent: bool = False, tls: PartnerTls | None = None
    ) -> list[dict[str, Any]]:
        del url, urgent, tls
        start = time.thread_time()
        answers = inbound.receive_batch(self.receiver, envelopes)
        self.receiver_cpu += time.thread_time() - start
        return [{"error": {}} if isinstance(one, ServiceError) else {"envelope": one} for one in answers]


def profile_drain(root: Path, options: Options) -> str:
    """cProfile of sending `--profile` reports in one process: ROK's dispatcher, with JPN's receiver in place of
    HTTP, both nodes' writes in the calling thread. The same code as the servers run, minus HTTP and threads."""
    nodes = create_cluster(root / "profile", WORLD, [SENDER, RECEIVER])
    rok, jpn = open_node(nodes[SENDER].folder), open_node(nodes[RECEIVER].folder)
    try:
        user = users.authenticate(rok, nodes[SENDER].token)
        if user is None:
            raise RuntimeError("the officer's token does not authenticate in-process")
        for node in (rok, jpn):
            node.uow.writer.close()
            node.uow.writer = InThreadWriter(node.uow.engine)
        body = report_body("routine", 0, options.body_bytes)
        publication = reports.Publication(body["title"], LEVEL, [CATEGORY], body=body["body"], recipients=[RECEIVER])
        for start in range(0, options.profile, BATCH):
            reports.publish_many(rok, user, [publication] * min(BATCH, options.profile - start))
        client = LocalPartner(jpn)
        dispatcher = Dispatcher(rok, client=client)
        text = io.StringIO()
        # The first half without the profiler (what the work costs), the second half under it (where it goes).
        for profiled in (False, True):
            profiler = cProfile.Profile()
            cpu, client.receiver_cpu, sent = time.thread_time(), 0.0, 0
            if profiled:
                profiler.enable()
            while sent < options.profile // 2 and (handled := dispatcher.run_once(urgent=False)):
                sent += handled
            profiler.disable()
            cpu = time.thread_time() - cpu
            if not sent:
                break
            receiver_ms, sender_ms = client.receiver_cpu * 1000 / sent, (cpu - client.receiver_cpu) * 1000 / sent
            print(
                f"{sent:,} transfers in one process{' under cProfile' if profiled else ''}: CPU {cpu * 1000 / sent:.2f}"
                f" ms each (receiver {receiver_ms:.2f} ms, sender {sender_ms:.2f} ms)",
                file=text,
            )
        client.close()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(options.top)
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(options.top)
        return text.getvalue()
    finally:
        rok.close()
        jpn.close()


# -- runs and the summary -----------------------------------------------------------------------------------
def run(options: Options, log: Callable[[str], None]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "environment": {
            "python": platform.python_version(),
            "cpu": cpu_model(),
            "nproc": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
            "loadavg_before": os.getloadavg(),
            "source": source_state(),
        },
        "options": {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(options).items()},
        "runs": [],
    }
    with contextlib.ExitStack() as stack:
        if options.workdir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pactnet-bench-federation-")))
        else:
            root = options.workdir
            root.mkdir(parents=True, exist_ok=True)
        if options.keep:
            stack.pop_all()
        for number in range(1, options.runs + 1):
            log(f"== run {number} of {options.runs} (load average {os.getloadavg()[0]:.2f})")
            results["runs"].append(one_run(root, number, options, log))
        if options.profile:
            log(f"profile: {options.profile:,} transfers in one process under cProfile")
            results["profile"] = profile_drain(root, options)
    results["environment"]["loadavg_after"] = os.getloadavg()
    return results


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def median_of(runs: list[dict[str, Any]], *path: str) -> tuple[float, list[float]]:
    values = []
    for one in runs:
        value: Any = one
        for key in path:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if isinstance(value, int | float):
            values.append(float(value))
    return (statistics.median(values) if values else float("nan")), values


def figure_line(
    runs: list[dict[str, Any]],
    label: str,
    path: tuple[str, ...],
    unit: str,
    fmt: str,
    target: str = "",
    ok: bool | None = None,
) -> None:
    value, values = median_of(runs, *path)
    shown = f"{value:{fmt}}{unit}"
    judged = "" if ok is None else verdict(ok)
    every = ", ".join(f"{v:{fmt}}" for v in values)
    print(f"{label:<60}{shown:>12}{target:>12}  {judged:<14}({every})")


def print_flash(runs: list[dict[str, Any]], options: Options) -> None:
    if not any("flash" in one for one in runs):
        return
    under = ("flash", "under_load")
    p99, _ = median_of(runs, *under, "latency_ms", "p99")
    pending, _ = median_of(runs, *under, "routine_pending_at_first")
    if options.idle_flashes:
        for quantile in ("p50", "p99"):
            label = f"flash publish -> delivered, outbox idle, {quantile}"
            figure_line(runs, label, ("flash", "idle", "latency_ms", quantile), " ms", ".1f")
    label = f"flash publish -> delivered, {pending:,.0f} routine queued, p50"
    figure_line(runs, label, (*under, "latency_ms", "p50"), " ms", ".1f")
    label = "flash publish -> delivered, under that backlog, p99"
    target, ok = f"<= {TARGET_FLASH_P99_MS:.0f} ms", p99 <= TARGET_FLASH_P99_MS
    figure_line(runs, label, (*under, "latency_ms", "p99"), " ms", ".1f", target, ok)
    figure_line(runs, "  max", (*under, "latency_ms", "max"), " ms", ".1f")
    figure_line(runs, "  the publish request alone, p99", (*under, "publish_ms", "p99"), " ms", ".1f")
    for part, label in (
        ("published_to_settled", "node instants: published -> settled"),
        ("published_to_received", "  published -> in the receiver's transaction"),
        ("received_to_settled", "  then -> settled in the sender's transaction"),
    ):
        for quantile in ("p50", "p99"):
            figure_line(runs, f"  {label}, {quantile}", (*under, "node_instants_ms", part, quantile), " ms", ".1f")
    label = "  routine still pending when the last flash was delivered"
    figure_line(runs, label, (*under, "routine_pending_at_last_delivered"), "", ",.0f")
    label = "backlog drain (routine + flashes), reports/s"
    figure_line(runs, label, ("flash", "backlog_drain", "per_second"), "/s", ",.0f")


def print_throughput(runs: list[dict[str, Any]], options: Options) -> None:
    if not options.throughput:
        return
    rate, _ = median_of(runs, "throughput", "per_second")
    target = f">= {TARGET_DELIVERED_PER_SECOND:.0f}/s"
    figure_line(
        runs,
        f"delivered reports/s, {options.throughput:,} published while sending",
        ("throughput", "per_second"),
        "/s",
        ",.0f",
        target,
        rate >= TARGET_DELIVERED_PER_SECOND,
    )
    figure_line(
        runs, "  publishing alone (batches of 100), reports/s", ("throughput", "publish_per_second"), "/s", ",.0f"
    )
    cpu = ("throughput", "cpu_ms_per_report")
    figure_line(runs, f"  CPU per delivered report, {SENDER} (publish + dispatch)", (*cpu, SENDER), " ms", ".2f")
    figure_line(runs, f"  CPU per delivered report, {RECEIVER} (receive)", (*cpu, RECEIVER), " ms", ".2f")
    figure_line(
        runs, "  CPU per report, this benchmark (client)", ("throughput", "client_cpu_ms_per_report"), " ms", ".2f"
    )


def print_memory(runs: list[dict[str, Any]], options: Options) -> None:
    published, _ = median_of(runs, "memory", "published")
    for party in (SENDER, RECEIVER):
        rss, _ = median_of(runs, "memory", "rss_mb", party, "VmRSS")
        judged = (rss < TARGET_RSS_MB) if published >= options.reports else None
        label = f"{party} VmRSS, {published:,.0f} reports stored and delivered"
        figure_line(
            runs, label, ("memory", "rss_mb", party, "VmRSS"), " MB", ".0f", f"< {TARGET_RSS_MB:.0f} MB", judged
        )
        figure_line(runs, f"  {party} VmHWM (peak over the run)", ("memory", "rss_mb", party, "VmHWM"), " MB", ".0f")
        if options.restart:
            figure_line(
                runs,
                f"  {party} VmRSS after a restart",
                ("memory", "rss_after_restart_mb", party, "VmRSS"),
                " MB",
                ".0f",
            )
        figure_line(
            runs, f"  {party} database (node.db + WAL)", ("memory", "stored", party, "database_mb"), " MB", ".0f"
        )


def print_checks(runs: list[dict[str, Any]]) -> None:
    for number, one in enumerate(runs, 1):
        stored = one["memory"]["stored"]
        receiver, sender = stored[RECEIVER], stored[SENDER]
        once = receiver["received"] == receiver["distinct_received"] == sender["outbox"].get("delivered", 0)
        problems = [
            f"{name}: {value}"
            for name, value in (
                ("flashes not delivered", one.get("flash", {}).get("under_load", {}).get("not_delivered")),
                ("tracebacks in serve.log", {k: v for k, v in one["tracebacks"].items() if v}),
            )
            if value
        ]
        audit = one.get("audit", {})
        intact = all(part.get("intact") for part in audit.values()) if audit else None
        print(
            f"run {number}: {SENDER} outbox {sender['outbox']}; {RECEIVER} stored {receiver['received']:,} copies of"
            f" {receiver['distinct_received']:,} items from {receiver['envelopes_received']:,} envelopes"
            f" (exactly once: {once}); audit {receiver['audit_kinds']} at {RECEIVER},"
            f" {sender['audit_kinds']} at {SENDER}; audit verify intact: {intact}"
            + (f"; PROBLEMS {'; '.join(problems)}" if problems else "")
        )


def print_summary(results: dict[str, Any], options: Options) -> None:
    env = results["environment"]
    runs = results["runs"]
    print(
        f"pactnet federation benchmark - source {env['source']}; Python {env['python']}, SQLite {env['sqlite']},"
        f" on {env['cpu']} ({env['nproc']} CPUs); load average before {env['loadavg_before'][0]:.2f},"
        f" after {env['loadavg_after'][0]:.2f}"
    )
    batch = options.dispatch_batch or "default (128)"
    print(
        f"two nodes ({SENDER} -> {RECEIVER}) on SQLite, real processes on loopback; dispatch_batch {batch};"
        f" {len(runs)} run(s): medians, and"
        " every run's value in brackets"
    )
    if runs:
        print_runs(runs, options)
    if "profile" in results:
        print()
        print(results["profile"])


def print_runs(runs: list[dict[str, Any]], options: Options) -> None:
    print()
    print(f"{'measure':<60}{'median':>12}{'target':>12}  verdict       (runs)")
    print("-" * 118)
    print_flash(runs, options)
    print_throughput(runs, options)
    print_memory(runs, options)
    print()
    print_checks(runs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=10_000, help="routine reports queued before the flashes")
    parser.add_argument("--flashes", type=int, default=100, help="flash reports published while the backlog drains")
    parser.add_argument("--flash-interval", type=float, default=0.05, help="seconds between two flashes (open loop)")
    parser.add_argument("--idle-flashes", type=int, default=20, help="flash reports first, with nothing queued")
    parser.add_argument("--throughput", type=int, default=20_000, help="reports for the delivery-rate figure (0: skip)")
    parser.add_argument("--reports", type=int, default=100_000, help="reports stored for the memory figure")
    parser.add_argument(
        "--runs", type=int, default=1, help="fresh clusters, one after another (medians shown; 0 with --profile)"
    )
    parser.add_argument("--quick", action="store_true", help="a short run: backlog 2,000, 30 flashes, 5,000 and 10,000")
    parser.add_argument("--dispatch-batch", type=int, help="node.toml dispatch_batch of both nodes (default 128)")
    parser.add_argument("--no-restart", action="store_true", help="skip the RSS after restarting both nodes")
    parser.add_argument("--no-verify", action="store_true", help="skip `pactnet audit verify` of both nodes")
    parser.add_argument("--poll", type=float, default=0.001, help="seconds between two polls of the sender's outbox")
    parser.add_argument("--body-bytes", type=int, default=200, help="size of each report's body")
    parser.add_argument(
        "--profile", type=int, default=0, help="also cProfile N transfers sent in one process, without HTTP"
    )
    parser.add_argument("--top", type=int, default=40, help="functions shown by --profile")
    parser.add_argument("--workdir", type=Path, help="put the node folders here (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the node folders")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--output", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    options = Options(
        backlog=args.backlog,
        flashes=args.flashes,
        flash_interval=args.flash_interval,
        idle_flashes=args.idle_flashes,
        throughput=args.throughput,
        reports=args.reports,
        runs=max(0 if args.profile else 1, args.runs),
        dispatch_batch=args.dispatch_batch,
        restart=not args.no_restart,
        verify=not args.no_verify,
        poll=args.poll,
        body_bytes=args.body_bytes,
        workdir=args.workdir,
        keep=args.keep,
        profile=args.profile,
        top=args.top,
    )
    if args.quick:
        options = replace(options, backlog=2_000, flashes=30, idle_flashes=10, throughput=5_000, reports=10_000)
    if options.dispatch_batch is not None and not 1 <= options.dispatch_batch <= 256:  # noqa: PLR2004
        parser.error("--dispatch-batch must be between 1 and 256 (node.toml's bounds)")

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds: servers stopped, folders removed

    signal.signal(signal.SIGTERM, stop)
    results = run(options, log)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    else:
        print_summary(results, options)


if __name__ == "__main__":
    main()
