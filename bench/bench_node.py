"""Benchmark a node end to end: publish throughput, read latency over HTTP, and audit-log verification.

Real `pactnet node serve` processes on loopback ports, real `pactnet node init` folders in a temporary
directory, SQLite and PostgreSQL; every server started here is stopped and every database created here is
dropped at the end, also on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
from sqlalchemy import update

from machine import cpu_model, percentile, process_cpu_seconds, source_state
from pactnet.audit.chain import Checkpoint, Entry, chain_entry
from pactnet.cluster import free_port
from pactnet.node import open_node
from pactnet.services import audit as audit_service
from pactnet.services import reports, users
from pactnet.store import audit_log
from pactnet.store.instants import instant_text
from pactnet.store.tables import audit_head

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pactnet.node import Node

# The figures asked for, on this 2-core machine.
TARGET_PUBLISH_PER_SECOND = 1_000.0
TARGET_READ_P99_MS = 10.0
TARGET_VERIFY_SECONDS = 5.0
TARGET_VERIFY_ENTRIES = 1_000_000

PARTY = "ROK"
WORLD = "gsomia-2019"
CLEARANCE = "군사II급비밀"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_NODE = "postgresql://postgres@127.0.0.1:5432/{name}"
PACTNET = [sys.executable, "-m", "pactnet"]
CATEGORIES: tuple[list[str], ...] = (
    ["dprk-missile"],
    ["dprk-nuclear"],
    ["dprk-missile", "dprk-nuclear"],
    ["pla-navy"],
    [],
)
LEVELS = ("군사III급비밀", "군사II급비밀")


# -- environment -----------------------------------------------------------------------------------------
def filesystem_of(path: Path) -> str:
    """The file system type a path lives on (from /proc/mounts), e.g. ext4 or tmpfs: fsync costs differ."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return kind
    resolved = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3 and resolved.startswith(parts[1]) and len(parts[1]) > len(best):  # noqa: PLR2004
            best, kind = parts[1], parts[2]
    return kind


# -- node folders, databases, servers --------------------------------------------------------------------
def run_cli(*args: str) -> str:
    result = subprocess.run([*PACTNET, *args], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"pactnet {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def init_folder(folder: Path, database_url: str | None) -> str:
    """`pactnet node init` then `pactnet user add`; the user's API token."""
    extra = ["--database", database_url] if database_url else []
    run_cli("node", "init", str(folder), "--world", WORLD, "--party", PARTY, *extra)
    out = run_cli(
        "user", "add", str(folder), "bench", "--clearance", CLEARANCE, "--role", "analyst", "--role", "auditor"
    )
    return out.strip().splitlines()[-1].strip()


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one node, dropped afterwards."""
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_NODE.format(name=name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(slots=True)
class Server:
    """A `pactnet node serve` subprocess."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def tracebacks(self) -> int:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace").count("Traceback")
        except OSError:
            return 0


@contextlib.contextmanager
def serving(folder: Path, log: Path) -> Iterator[Server]:
    """Serve a node on a free loopback port until the block ends; always stop the process."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603
            [*PACTNET, "node", "serve", str(folder), "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                text = log.read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"pactnet node serve exited with {process.returncode}:\n{text}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:  # noqa: PLR2004
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"pactnet node serve did not answer on {server.url} within 60 s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- HTTP load -------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Load:
    """What a closed-loop load of `clients` threads did for `seconds`."""

    clients: int
    seconds: float
    rate: float | None = None
    per_request: int = 1  # reports per request (a batch publish), else 1
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        count = len(ordered)
        done = count * self.per_request
        per_unit: dict[str, Any] = {}
        if self.per_request > 1:
            per_unit = {
                "reports_per_request": self.per_request,
                "reports_ok": done,
                "reports_per_second": done / self.seconds if self.seconds else 0.0,
                "server_cpu_ms_per_report": self.server_cpu / done * 1e3 if done else float("nan"),
                "client_cpu_ms_per_report": self.client_cpu / done * 1e3 if done else float("nan"),
            }
        return {
            "clients": self.clients,
            "rate": self.rate,
            "seconds": self.seconds,
            "requests_ok": count,
            "per_second": count / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ordered, 0.50) * 1e3,
            "p90_ms": percentile(ordered, 0.90) * 1e3,
            "p99_ms": percentile(ordered, 0.99) * 1e3,
            "max_ms": (ordered[-1] if ordered else float("nan")) * 1e3,
            "statuses": dict(self.statuses),
            "errors": self.errors[:5],
            "server_cpu_ms_per_request": self.server_cpu / count * 1e3 if count else float("nan"),
            "client_cpu_ms_per_request": self.client_cpu / count * 1e3 if count else float("nan"),
            **per_unit,
        }


def publish_body(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "title": f"bench report {number}",
        "level": rng.choice(LEVELS),
        "categories": rng.choice(CATEGORIES),
        "precedence": "routine",
        "body": "text " * rng.randrange(0, 40),
    }


def send_publish(client: httpx.Client, rng: random.Random, number: int) -> httpx.Response:
    return client.post("/api/v1/reports", json=publish_body(rng, number))


def batch_publisher(size: int) -> Callable[[httpx.Client, random.Random, int], httpx.Response]:
    """POST /api/v1/reports/batch with `size` reports per request (numbered `size` apart, so titles differ)."""

    def send_batch(client: httpx.Client, rng: random.Random, number: int) -> httpx.Response:
        bodies = [publish_body(rng, number * size + offset) for offset in range(size)]
        return client.post("/api/v1/reports/batch", json={"reports": bodies})

    return send_batch


def published_ids(response: httpx.Response, per_request: int) -> list[str]:
    """The ids a publish (one report) or a batch publish (`{"results": [...]}`) answered; checks the count."""
    payload = response.json()
    ids = [one["id"] for one in payload["results"]] if "results" in payload else [payload["id"]]
    if len(ids) != per_request:
        raise ValueError(f"expected {per_request} result(s), got {len(ids)}")
    return ids


def send_health(client: httpx.Client, _rng: random.Random, _number: int) -> httpx.Response:
    return client.get("/api/v1/health")


def reader(ids: Sequence[str]) -> Callable[[httpx.Client, random.Random, int], httpx.Response]:
    def send_read(client: httpx.Client, rng: random.Random, _number: int) -> httpx.Response:
        return client.get(f"/api/v1/reports/{rng.choice(ids)}")

    return send_read


@dataclass(frozen=True, slots=True)
class Pace:
    """When one client sends: back to back (interval None) or on a fixed schedule, from `start` until `stop`."""

    start: float
    stop: float
    interval: float | None = None
    offset: float = 0.0


def drive(
    client: httpx.Client,
    send: Callable[[httpx.Client, random.Random, int], httpx.Response],
    rng: random.Random,
    first: int,
    pace: Pace,
    expect: int,
    per_request: int = 1,
) -> Load:
    """One client sending requests until `pace.stop` (perf_counter); what it saw.

    On a schedule, a request's latency runs from the instant it was due, not from when it was sent, so a
    server that falls behind is charged for the wait (no coordinated omission).
    """
    seen = Load(1, 0.0)
    number = first
    due = pace.start + pace.offset
    while (begin := time.perf_counter()) < pace.stop:
        if pace.interval is not None:
            if due > begin:
                time.sleep(due - begin)
            begin, due = due, due + pace.interval
            if begin >= pace.stop:
                break
        number += 1
        try:
            response = send(client, rng, number)
        except httpx.HTTPError as error:
            seen.statuses[type(error).__name__] += 1
            seen.errors.append(repr(error))
            continue
        elapsed = time.perf_counter() - begin
        seen.statuses[str(response.status_code)] += 1
        if response.status_code != expect:
            seen.errors.append(f"{response.status_code} {response.text[:300]}")
            continue
        if expect == 201:  # noqa: PLR2004 - a publication: keep its ids for the readers
            try:
                ids = published_ids(response, per_request)
            except (ValueError, KeyError, TypeError) as error:
                seen.statuses["bad-answer"] += 1
                seen.errors.append(f"{error!r}: {response.text[:300]}")
                continue
            seen.ids.extend(ids)
        seen.latencies.append(elapsed)
    return seen


def run_load(
    server: Server,
    token: str,
    clients: int,
    seconds: float,
    send: Callable[[httpx.Client, random.Random, int], httpx.Response],
    expect: int,
    seed: int,
    rate: float | None = None,
    per_request: int = 1,
) -> Load:
    """`clients` threads, each with its own keep-alive connection, send requests for `seconds`.

    Back to back (a closed loop: latency grows with the queue) or, with `rate`, `rate` requests per second in
    all, spread evenly over the clients (an open loop: latency at that load). `per_request` is how many reports
    each successful request carries (a batch publish), for the per-report figures.
    """
    load = Load(clients, seconds, rate, per_request)
    lock = threading.Lock()
    window: dict[str, float] = {}

    def open_window() -> None:
        window["start"] = time.perf_counter()
        window["stop"] = window["start"] + seconds
        window["client_cpu"] = time.process_time()
        window["server_cpu"] = server.cpu_seconds()

    barrier = threading.Barrier(clients, action=open_window)

    def worker(index: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            client.get("/api/v1/health")  # open the connection before the window
            barrier.wait()
            interval = None if rate is None else clients / rate
            offset = 0.0 if interval is None else interval * index / clients
            pace = Pace(window["start"], window["stop"], interval, offset)
            first = index * 10_000_000
            seen = drive(client, send, random.Random(seed * 1000 + index), first, pace, expect, per_request)
        with lock:
            load.latencies.extend(seen.latencies)
            load.statuses.update(seen.statuses)
            load.errors.extend(seen.errors)
            load.ids.extend(seen.ids)

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - window["start"]
    load.client_cpu = time.process_time() - window["client_cpu"]
    load.server_cpu = server.cpu_seconds() - window["server_cpu"]
    return load


# -- in-process service layer ----------------------------------------------------------------------------
def service_publish(node: Node, user: users.User, threads: int, seconds: float, seed: int) -> dict[str, Any]:
    """reports.publish called directly (no HTTP) by `threads` threads for `seconds`."""
    counts = [0] * threads
    latencies: list[float] = []
    lock = threading.Lock()
    window: dict[str, float] = {}

    def open_window() -> None:
        window["start"] = time.perf_counter()
        window["stop"] = window["start"] + seconds
        window["cpu"] = time.process_time()

    barrier = threading.Barrier(threads, action=open_window)

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        mine: list[float] = []
        barrier.wait()
        stop = window["stop"]
        number = 0
        while (begin := time.perf_counter()) < stop:
            number += 1
            body = publish_body(rng, number)
            reports.publish(node, user, reports.Publication(**body))
            mine.append(time.perf_counter() - begin)
        counts[index] = len(mine)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - window["start"]
    cpu = time.process_time() - window["cpu"]
    ordered = sorted(latencies)
    total = sum(counts)
    return {
        "threads": threads,
        "seconds": elapsed,
        "published": total,
        "per_second": total / elapsed,
        "p50_ms": percentile(ordered, 0.5) * 1e3,
        "p99_ms": percentile(ordered, 0.99) * 1e3,
        "max_ms": (ordered[-1] if ordered else float("nan")) * 1e3,
        "cpu_ms_per_publish": cpu / total * 1e3 if total else float("nan"),
    }


def py_spy() -> str | None:
    """The py-spy executable (pip install py-spy), next to this Python or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def sampling(pid: int, seconds: float, out: Path, results: dict[str, Any], key: str, top: int) -> Iterator[None]:
    """Sample `pid` with py-spy (GIL holders only, so CPU in Python) while the block runs; summary in results[key].

    py-spy sees every thread, which cProfile does not: the server's request threads, its event loop and the
    group committer's writer thread, where the database work of every write runs.
    """
    executable = py_spy()
    if executable is None:
        results[key] = "py-spy not found: pip install py-spy into this environment"
        yield
        return
    command = [executable, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", "500"]
    command += ["--format", "raw", "--output", str(out), "--gil", "--nonblocking"]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        yield
    finally:
        try:
            _, errors = spy.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, errors = spy.communicate()
    if spy.returncode != 0 or not out.exists():
        results[key] = f"py-spy failed ({spy.returncode}): {errors.decode(errors='replace')[-500:]}"
    else:
        results[key] = collapsed_summary(out, top)


def collapsed_summary(path: Path, top: int) -> str:
    """The functions that hold the GIL most: by own samples, and inclusive (pactnet's own frames, by line)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return "no samples"
    lines = [f"{total} samples with the GIL held; own time:"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in own.most_common(top)]
    lines.append("inclusive, pactnet frames (file:line of the call):")
    mine = [
        (frame, count)
        for frame, count in inclusive.most_common()
        if "pactnet/" in frame and "cli/" not in frame and "__main__" not in frame
    ]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in mine[:top]]
    return "\n".join(lines)


def profile_text(profiler: cProfile.Profile, top: int) -> str:
    with tempfile.SpooledTemporaryFile(mode="w+") as stream:
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        stream.seek(0)
        return str(stream.read())


# -- the audit log ---------------------------------------------------------------------------------------
COLUMNS = ("seq", "at", "kind", "actor", "subject", "data", "prev", "hash")
MARK_COLUMNS = ("seq", "hash", "at", "key", "signature")
# Fixed column lists only: nothing from outside reaches these statements.
INSERT_ENTRIES = f"INSERT INTO audit_entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608
COPY_ENTRIES = f"COPY audit_entries ({', '.join(COLUMNS)}) FROM STDIN"
INSERT_MARKS = f"INSERT INTO audit_checkpoints ({', '.join(MARK_COLUMNS)}) VALUES ({{}})"  # noqa: S608
SELECT_ENTRIES = f"SELECT {', '.join(COLUMNS)} FROM audit_entries ORDER BY seq"  # noqa: S608


def synthetic_records(rng: random.Random, count: int) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """Records shaped like a busy node's: publish, one decision per partner, then reads."""
    partners = (("JPN", "JPN-ROK-GSOMIA-2016"), ("USA", "USA-ROK-GSOMIA-1987"))
    produced = 0
    while produced < count:
        subject = f"{rng.getrandbits(128):032x}"
        categories = rng.choice(CATEGORIES)
        level = rng.choice(LEVELS)
        records: list[tuple[str, str, str, dict[str, Any]]] = [
            ("publish", "bench", subject, {"level": level, "categories": categories, "precedence": "routine"})
        ]
        for partner, under in partners:
            data = {"to": partner, "allowed": True, "route": [PARTY, partner], "under": [under], "reasons": []}
            records.append(("decide", PARTY, subject, data))
        records.append(("read", "bench", subject, {}))
        for record in records[: count - produced]:
            yield record
            produced += 1


def insert_batch(node: Node, rows: list[tuple[Any, ...]], marks: list[tuple[Any, ...]]) -> None:
    """Entries and checkpoints in one transaction, with the driver's fastest bulk path."""
    with node.uow.transaction() as connection:
        raw: Any = connection.connection.driver_connection
        if node.uow.engine.dialect.name == "sqlite":
            raw.executemany(INSERT_ENTRIES, rows)
            if marks:
                raw.executemany(INSERT_MARKS.format(", ".join("?" * len(MARK_COLUMNS))), marks)
            return
        with raw.cursor() as cursor:
            with cursor.copy(COPY_ENTRIES) as copy:
                for row in rows:
                    copy.write_row(row)
            if marks:
                cursor.executemany(INSERT_MARKS.format(", ".join(["%s"] * len(MARK_COLUMNS))), marks)


def build_audit_log(node: Node, total: int, batch: int = 50_000) -> dict[str, Any]:
    """Append synthetic entries, correctly chained, straight into audit_entries until the log has `total`.

    Checkpoints every `checkpoint_every` entries and a signed head at the end, as SqlAuditLog.append writes them;
    rows go in with the driver's executemany (SQLite) or COPY (PostgreSQL), a transaction per batch.
    """
    started = time.perf_counter()
    with node.uow.engine.connect() as connection:
        head = audit_log.read_head(connection)
    if head is None:
        raise RuntimeError("the node has no signed head")
    seq, prev = head.seq, head.hash
    every = node.config.checkpoint_every
    base = datetime(2026, 1, 1, tzinfo=UTC)
    records = synthetic_records(random.Random(2019), total - seq)
    at = instant_text(base)
    while seq < total:
        rows: list[tuple[Any, ...]] = []
        marks: list[tuple[Any, ...]] = []
        for kind, actor, subject, data in (next(records) for _ in range(min(batch, total - seq))):
            seq += 1
            if kind == "publish":
                at = instant_text(base + timedelta(milliseconds=seq))
            entry = chain_entry(seq, at, kind, actor, subject, data, prev)
            prev = entry.hash
            rows.append((seq, at, kind, actor, subject, entry.data_json, entry.prev, entry.hash))
            if seq % every == 0:
                mark = Checkpoint.sign(node.keys, seq, entry.hash, at)
                marks.append((mark.seq, mark.hash, mark.at, mark.key, mark.signature))
        insert_batch(node, rows, marks)
    with node.uow.transaction() as connection:
        signed = Checkpoint.sign(node.keys, seq, prev, at)
        connection.execute(update(audit_head).where(audit_head.c.id == audit_log.HEAD_ROW).values(**signed.as_dict()))
        if node.uow.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE audit_entries")
    return {"entries": seq, "build_seconds": time.perf_counter() - started}


def measure_verify(node: Node, repeat: int, sample: int) -> dict[str, Any]:
    """verify(node) timed `repeat` times, then what its parts cost: raw rows, read_entries, hashing."""
    walls: list[float] = []
    cpus: list[float] = []
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = audit_service.verify(node)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result is not None  # noqa: S101 - repeat >= 1
    parts: dict[str, float] = {}
    with node.uow.engine.connect() as connection:
        start = time.perf_counter()
        rows = 0
        cursor = connection.exec_driver_sql(SELECT_ENTRIES)
        while chunk := cursor.fetchmany(10_000):
            rows += len(chunk)
        parts["raw_rows_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        entries = 0
        kept: list[Entry] = []
        for entry in audit_log.read_entries(connection):
            entries += 1
            if len(kept) < sample:
                kept.append(entry)
        parts["read_entries_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    for entry in kept:
        entry.recomputed_hash()
    hashing = time.perf_counter() - start
    parts["hash_microseconds_each"] = hashing / len(kept) * 1e6 if kept else float("nan")
    parts["hash_seconds_extrapolated"] = hashing / len(kept) * entries if kept else float("nan")
    return {
        "intact": result.intact,
        "entries": result.entries,
        "checkpoints": result.checkpoints,
        "problem": result.problem,
        "seconds_median": statistics.median(walls),
        "seconds_all": walls,
        "cpu_seconds_median": statistics.median(cpus),
        "entries_per_second": result.entries / statistics.median(walls),
        "raw_rows": rows,
        **parts,
    }


def profile_verify(node: Node, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(audit_service.verify, node)
    return profile_text(profiler, top)


# -- the benchmark ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class Options:
    backends: list[str]
    sections: set[str]
    clients: list[int]
    readers: list[int]
    read_rates: list[float]
    seconds: float
    warmup: int
    min_reports: int
    audit_entries: int
    audit_repeat: int
    profile: set[str]
    audit_http: bool
    top: int
    keep: bool
    workdir: Path | None
    batch: int = 0


def node_folder(stack: contextlib.ExitStack, root: Path, backend: str, label: str) -> tuple[Path, str, str | None]:
    """A new node folder for `backend` (with its own PostgreSQL database); the folder, token and database URL."""
    folder = root / f"{backend}-{label}"
    url = None
    if backend == "postgresql":
        url = stack.enter_context(postgres_database(f"pactnet_bench_{os.getpid()}_{label}"))
    return folder, init_folder(folder, url), url


def check_load(results: dict[str, Any], name: str, load: Load, server: Server) -> None:
    """Record a load's summary; bad statuses, transport errors and server tracebacks go to `problems`."""
    results[name] = load.summary()
    bad = {status: count for status, count in load.statuses.items() if not status.startswith("2")}
    if bad or load.errors or server.tracebacks():
        results.setdefault("problems", []).append(
            {"where": name, "statuses": bad, "errors": load.errors[:5], "server_tracebacks": server.tracebacks()}
        )


def publish_some(server: Server, token: str, count: int, ids: list[str]) -> None:
    """Publish `count` reports over one connection (warm-up and filling), keeping their ids."""
    rng = random.Random(count)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for number in range(count):
            response = send_publish(client, rng, number)
            if response.status_code != 201:  # noqa: PLR2004
                raise RuntimeError(f"publish answered {response.status_code}: {response.text[:500]}")
            ids.append(response.json()["id"])


def bench_publish(
    server: Server, token: str, folder: Path, backend: str, options: Options, log: Callable[[str], None]
) -> tuple[dict[str, Any], list[str]]:
    """The HTTP floor, publish (one report per request, and with --batch N reports per request) and its profile."""
    results: dict[str, Any] = {}
    ids: list[str] = []
    for clients in options.clients:
        seconds = max(2.0, options.seconds / 2)
        log(f"[{backend}] HTTP floor: GET /api/v1/health (no token, no database), {clients} client(s)")
        load = run_load(server, token, clients, seconds, send_health, 200, 200 + clients)
        check_load(results, f"http_floor_{clients}", load, server)
    for clients in options.clients:
        log(f"[{backend}] HTTP publish, {clients} client(s), {options.seconds:g} s")
        load = run_load(server, token, clients, options.seconds, send_publish, 201, clients)
        check_load(results, f"http_publish_{clients}", load, server)
        ids.extend(load.ids)
    for clients in options.clients if options.batch else []:
        log(f"[{backend}] HTTP batch publish, {options.batch} reports per request, {clients} client(s)")
        send = batch_publisher(options.batch)
        load = run_load(server, token, clients, options.seconds, send, 201, 400 + clients, None, options.batch)
        check_load(results, f"http_batch_{clients}", load, server)
        ids.extend(load.ids)
    if "http-publish" in options.profile:
        clients = max(options.clients)
        log(f"[{backend}] py-spy of the server: HTTP publish, {clients} client(s), {options.seconds:g} s")
        out = folder.parent / f"{folder.name}-publish.pyspy"
        with sampling(server.process.pid, options.seconds, out, results, "profile_http_publish", options.top):
            load = run_load(server, token, clients, options.seconds + 1, send_publish, 201, 98)
        ids.extend(load.ids)
    return results, ids


def bench_served(
    folder: Path, token: str, backend: str, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    """Publish throughput and read latency over HTTP, against one `pactnet node serve`."""
    results: dict[str, Any] = {}
    ids: list[str] = []
    with serving(folder, folder.parent / f"{folder.name}-serve.log") as server:
        log(f"[{backend}] serving on {server.url}; {options.warmup} warm-up publishes")
        publish_some(server, token, options.warmup, ids)
        if "publish" in options.sections:
            published, more = bench_publish(server, token, folder, backend, options, log)
            results |= published
            ids.extend(more)
        if "read" in options.sections:
            publish_some(server, token, max(0, options.min_reports - len(ids)), ids)
            results["stored_reports"] = len(ids)
            for clients in options.readers:
                log(f"[{backend}] HTTP read, {clients} reader(s) over {len(ids)} reports, {options.seconds:g} s")
                load = run_load(server, token, clients, options.seconds, reader(ids), 200, 100 + clients)
                check_load(results, f"http_read_{clients}", load, server)
            clients = max(options.readers)
            if "http-read" in options.profile:
                log(f"[{backend}] py-spy of the server: HTTP read, {clients} reader(s), {options.seconds:g} s")
                out = folder.parent / f"{folder.name}-read.pyspy"
                with sampling(server.process.pid, options.seconds, out, results, "profile_http_read", options.top):
                    run_load(server, token, clients, options.seconds + 1, reader(ids), 200, 97)
            for rate in options.read_rates:
                log(f"[{backend}] HTTP read, {clients} readers at {rate:g} requests/s in all, {options.seconds:g} s")
                load = run_load(server, token, clients, options.seconds, reader(ids), 200, 300, rate)
                check_load(results, f"http_read_paced_{rate:g}", load, server)
        results["server_tracebacks"] = server.tracebacks()
    return results


def bench_service(
    folder: Path, token: str, backend: str, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    """Publish throughput calling the service layer in this process (no HTTP), and optionally its profile."""
    results: dict[str, Any] = {}
    node = open_node(folder)
    try:
        user = users.authenticate(node, token)
        if user is None:
            raise RuntimeError("the bench user's token does not authenticate in-process")
        for threads in options.clients:
            log(f"[{backend}] service-layer publish (no HTTP), {threads} thread(s), {options.seconds:g} s")
            results[f"service_publish_{threads}"] = service_publish(node, user, threads, options.seconds, threads)
        if "service" in options.profile:
            threads = max(options.clients)
            log(f"[{backend}] py-spy of service-layer publish, {threads} thread(s), {options.seconds:g} s")
            out = folder.parent / f"{folder.name}-service.pyspy"
            with sampling(os.getpid(), options.seconds, out, results, "profile_service_publish", options.top):
                service_publish(node, user, threads, options.seconds + 1, 99)
    finally:
        node.close()
    return results


def bench_http(
    stack: contextlib.ExitStack, root: Path, backend: str, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    """Publish throughput (HTTP and in-process) and read latency on one backend."""
    folder, token, url = node_folder(stack, root, backend, "http")
    results: dict[str, Any] = {"database": url or f"sqlite:///{folder / 'node.db'}"}
    results |= bench_served(folder, token, backend, options, log)
    if "publish" in options.sections:
        results |= bench_service(folder, token, backend, options, log)
    return results


def bench_audit(
    stack: contextlib.ExitStack, root: Path, backend: str, options: Options, log: Callable[[str], None]
) -> dict[str, Any]:
    """Build a log of `audit_entries` entries on a fresh node and time its verification."""
    folder, token, _url = node_folder(stack, root, backend, "audit")
    node = open_node(folder)
    try:
        log(f"[{backend}] building an audit log of {options.audit_entries:,} entries")
        built = build_audit_log(node, options.audit_entries)
        log(
            f"[{backend}] built in {built['build_seconds']:.1f} s; verifying ({options.audit_repeat}x) and timing parts"
        )
        results = built | measure_verify(node, options.audit_repeat, 200_000)
        if "audit" in options.profile:
            log(f"[{backend}] cProfile of verify")
            results["profile_verify"] = profile_verify(node, options.top)
    finally:
        node.close()
    if options.audit_http:
        with serving(folder, folder.parent / f"{folder.name}-serve.log") as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
                log(f"[{backend}] GET /api/v1/audit?after=0&limit=100 on the {built['entries']:,}-entry log")
                start = time.perf_counter()
                response = client.get("/api/v1/audit", params={"after": 0, "limit": 100})
                results["http_audit_page_seconds"] = time.perf_counter() - start
                results["http_audit_page_status"] = response.status_code
                if response.status_code == 200:  # noqa: PLR2004
                    results["http_audit_page_verification"] = response.json().get("verification")
    return results


def run(options: Options, log: Callable[[str], None]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "environment": {
            "python": platform.python_version(),
            "cpu": cpu_model(),
            "nproc": os.cpu_count(),
            "loadavg_before": os.getloadavg(),
            "source": source_state(),
        }
    }
    with contextlib.ExitStack() as stack:
        if options.workdir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pactnet-bench-node-")))
        else:
            root = options.workdir
            root.mkdir(parents=True, exist_ok=True)
        if options.keep:
            stack.pop_all()
        results["environment"]["workdir_filesystem"] = filesystem_of(root)
        for backend in options.backends:
            section: dict[str, Any] = {}
            if options.sections & {"publish", "read"}:
                section |= bench_http(stack, root, backend, options, log)
            if "audit" in options.sections:
                section["audit"] = bench_audit(stack, root, backend, options, log)
            results[backend] = section
    results["environment"]["loadavg_after"] = os.getloadavg()
    return results


# -- reporting -------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def rate_line(label: str, row: dict[str, Any], cpu: float, judged: str = "") -> str:
    return (
        f"{label:<46}{row['per_second']:>10,.0f}/s{row['p50_ms']:>7.1f}ms{row['p99_ms']:>7.1f}ms"
        f"{row.get('max_ms', float('nan')):>7.1f}ms  {cpu:>6.2f}ms  {judged}"
    )


def print_audit(audit: dict[str, Any]) -> None:
    big = audit["entries"] >= TARGET_VERIFY_ENTRIES
    judged = verdict(audit["seconds_median"] <= TARGET_VERIFY_SECONDS) if big else "(smaller than the target)"
    label = f"audit verify, {audit['entries']:,} entries"
    print(
        f"{label:<46}{audit['seconds_median']:>10.2f} s  ({audit['entries_per_second']:,.0f} entries/s,"
        f" CPU {audit['cpu_seconds_median']:.2f} s, all {', '.join(f'{t:.2f}' for t in audit['seconds_all'])})"
        f"  {judged}"
    )
    print(
        f"  intact={audit['intact']}, {audit['checkpoints']} checkpoints; log built in"
        f" {audit['build_seconds']:.1f} s; parts: raw rows {audit['raw_rows_seconds']:.2f} s,"
        f" read_entries {audit['read_entries_seconds']:.2f} s, hashing {audit['hash_seconds_extrapolated']:.2f} s"
        f" ({audit['hash_microseconds_each']:.2f} us each)"
    )
    if "http_audit_page_seconds" in audit:
        print(
            f"  GET /api/v1/audit?after=0&limit=100 (100 entries + a verification of the whole log):"
            f" {audit['http_audit_page_seconds']:.2f} s, status {audit['http_audit_page_status']}"
        )


def table_rows(backend: str, section: dict[str, Any], options: Options) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(label, measurement, verdict) for every rate measured on one backend, in the order they are shown."""
    readers = max(options.readers, default=0)
    stored = section.get("stored_reports", 0)
    publish_judged = backend == "sqlite"
    for clients in options.clients:
        yield f"HTTP floor (GET /health), {clients} client(s)", section.get(f"http_floor_{clients}", {}), ""
    for clients in options.clients:
        row = section.get(f"http_publish_{clients}", {})
        judged = verdict(row["per_second"] >= TARGET_PUBLISH_PER_SECOND) if row and publish_judged else ""
        yield f"HTTP publish, {clients} client(s)", row, judged
    if options.batch:
        for clients in options.clients:
            row = section.get(f"http_batch_{clients}", {})
            judged = verdict(row["reports_per_second"] >= TARGET_PUBLISH_PER_SECOND) if row and publish_judged else ""
            yield f"HTTP batch publish x{options.batch}, {clients} client(s)", row, judged
    for threads in options.clients:
        yield f"service publish, no HTTP, {threads} thread(s)", section.get(f"service_publish_{threads}", {}), ""
    reads = [(f"HTTP read, {c} reader(s), {stored:,} reports", f"http_read_{c}") for c in options.readers]
    reads += [(f"HTTP read, {readers} readers paced at {r:g}/s", f"http_read_paced_{r:g}") for r in options.read_rates]
    for label, key in reads:
        row = section.get(key, {})
        yield label, row, verdict(row["p99_ms"] <= TARGET_READ_P99_MS) if row else ""


def print_backend(backend: str, section: dict[str, Any], options: Options) -> None:
    print()
    print(f"== {backend}: {section.get('database', '')} ==")
    print(f"{'measure':<46}{'rate':>12}{'p50':>9}{'p99':>9}{'max':>9}  {'CPU/req':>8}  verdict")
    print("-" * 110)
    for label, row, judged in table_rows(backend, section, options):
        if row:
            cpu = row.get("server_cpu_ms_per_request", row.get("cpu_ms_per_publish", float("nan")))
            shown = row
            if "reports_per_second" in row:  # a batch: reports/s and CPU per report; latency per request
                shown = {**row, "per_second": row["reports_per_second"]}
                cpu = row["server_cpu_ms_per_report"]
            print(rate_line(label, shown, cpu, judged))
    if audit := section.get("audit"):
        print_audit(audit)
    print_extras(backend, section)


def print_extras(backend: str, section: dict[str, Any]) -> None:
    """Problems seen, and the profiles asked for."""
    for problem in section.get("problems", []):
        print(f"  PROBLEM in {problem['where']}: {json.dumps(problem, ensure_ascii=False)}")
    for key, what in (
        ("profile_http_publish", "py-spy of the server under HTTP publish"),
        ("profile_http_read", "py-spy of the server under HTTP read"),
        ("profile_service_publish", "py-spy of this process under service-layer publish"),
    ):
        if key in section:
            print(f"\n-- {backend}: {what} --\n{section[key]}")
    if "profile_verify" in section.get("audit", {}):
        print(f"\n-- {backend}: cProfile of verify --\n{section['audit']['profile_verify']}")


def print_table(results: dict[str, Any], options: Options) -> None:
    env = results["environment"]
    print(
        f"pactnet node benchmark - source {env['source']}; Python {env['python']} on {env['cpu']}"
        f" ({env['nproc']} CPUs); "
        f"work dir on {env['workdir_filesystem']}; load average before {env['loadavg_before'][0]:.2f}, "
        f"after {env['loadavg_after'][0]:.2f}"
    )
    print("rates are successes per second; p50/p99/max are client-side latencies; CPU/req is the server's")
    print("(the service rows: this process's) CPU time per request over the timed window")
    if options.batch:
        print(f"batch rows: rate in reports/s and CPU per report; p50/p99/max per request of {options.batch} reports")
    for backend in options.backends:
        print_backend(backend, results[backend], options)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--sections", default="publish,read,audit", help="comma-separated: publish, read, audit")
    parser.add_argument("--clients", default="1,8", help="concurrent publishing clients (and service threads)")
    parser.add_argument("--readers", default="1,8", help="concurrent readers")
    parser.add_argument(
        "--read-rates",
        default="100,200",
        help="also read at these fixed total rates (requests/s, open loop) with the most readers; '' for none",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="also publish through POST /api/v1/reports/batch with N reports per request (1-100; 0: off)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed load")
    parser.add_argument("--warmup", type=int, default=200, help="publishes before anything is timed")
    parser.add_argument("--min-reports", type=int, default=3000, help="reports stored before reads are timed")
    parser.add_argument("--audit-entries", type=int, default=1_000_000, help="size of the audit log to verify")
    parser.add_argument("--audit-repeat", type=int, default=2, help="timed verifications (median reported)")
    parser.add_argument(
        "--no-audit-http",
        action="store_true",
        help="skip timing GET /api/v1/audit (which verifies the whole log) on the large log",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated: http-publish, http-read (py-spy of the server), service (py-spy of the in-process"
        " publish), audit (cProfile of verify)",
    )
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    parser.add_argument("--workdir", type=Path, help="put the node folders here (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the node folders (PostgreSQL databases are dropped)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)

    def split(text: str) -> list[str]:
        return [item.strip() for item in text.split(",") if item.strip()]

    options = Options(
        backends=split(args.backends),
        sections=set(split(args.sections)),
        clients=[int(item) for item in split(args.clients)],
        readers=[int(item) for item in split(args.readers)],
        read_rates=[float(item) for item in split(args.read_rates)],
        seconds=args.seconds,
        warmup=args.warmup,
        min_reports=args.min_reports,
        audit_entries=args.audit_entries,
        audit_repeat=max(1, args.audit_repeat),
        profile=set(split(args.profile)),
        audit_http=not args.no_audit_http,
        top=args.top,
        keep=args.keep,
        workdir=args.workdir,
        batch=args.batch,
    )
    if not 0 <= options.batch <= 100:  # noqa: PLR2004 - the route's limit (schemas.MAX_BATCH)
        parser.error("--batch must be between 1 and 100, or 0 for no batch publish")
    unknown = (set(options.backends) - {"sqlite", "postgresql"}) | (options.sections - {"publish", "read", "audit"})
    unknown |= options.profile - {"http-publish", "http-read", "service", "audit"}
    if unknown:
        parser.error(f"unknown backend or section: {', '.join(sorted(unknown))}")

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds: servers stopped, databases dropped, folders removed

    signal.signal(signal.SIGTERM, stop)
    results = run(options, log)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    else:
        print_table(results, options)


if __name__ == "__main__":
    main()
