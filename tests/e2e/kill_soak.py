"""Kill -9 at random among senders, a hub and receivers during fan-out and relay; count what was lost or doubled.

The engine of tests/e2e/test_kill_soak.py (a few kills in CI) and bench/soak_kills.py (hundreds). ROK, USA and
JPN on the world `gsomia-2019-no-suspension` at the machine's time: the JPN-ROK GSOMIA has ended, so a ROK
report reaches JPN only through TISA's hub, the USA, once ROK consents to the relay. Each node is `pactnet node
serve`: on SQLite one process; on PostgreSQL with `--workers N`, N API processes each running a dispatcher on
the one database (FOR UPDATE SKIP LOCKED), under uvicorn's supervisor, which starts a killed worker again.

Each round a thread publishes batches at ROK for USA and JPN and consents to the relay of half of each batch,
while a random process is killed with SIGKILL at a random moment (seeded): on PostgreSQL mostly one worker of
a random node (its supervisor restarts it), sometimes the whole node (started again by the soak); on SQLite the
whole node. At the end, once no outbox row is pending anywhere, every figure is read from the databases:

- every publish answered 201 is stored at ROK, a request cut off is stored whole or not at all, no title twice;
- each ROK report has one transfer to USA and at most one relay leg for JPN, each `delivered`; each consent
  answered 201 has its relay leg;
- USA holds each ROK report exactly once and has one onward leg to JPN for each relayed one, `delivered`;
- JPN holds each relayed report exactly once, and no report ROK did not consent to relay;
- every node audited one `delivered` entry per delivered row, its audit log verifies, its log has no traceback.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from pactnet.cluster import create_cluster
from pactnet.store.database import normalise_url
from tests.databases import fresh_postgres_database
from tests.e2e.side_by_side import side_by_side

if TYPE_CHECKING:
    from collections.abc import Callable

    from pactnet.cluster import ClusterNode

WORLD = "gsomia-2019-no-suspension"
SENDER, HUB, FINAL = "ROK", "USA", "JPN"
PARTIES = (SENDER, HUB, FINAL)
SETTINGS: dict[str, Any] = {"retry_first_ms": 50, "retry_longest_ms": 500}
BATCH = 6
# Batches a round publishes at most: enough to be mid-way when the kill comes, few enough to keep rounds short.
BATCHES_PER_ROUND = 4
LONGEST_DELAY = 0.8
TIMEOUT = 30.0
# A node with two workers starts three processes that import the whole stack: on a loaded machine, a minute.
START_SECONDS = 120.0


@dataclass
class Ledger:
    """What the publishing thread was told."""

    accepted: dict[str, str] = field(default_factory=dict)  # title -> id at ROK
    cut_off: list[list[str]] = field(default_factory=list)
    consented: set[str] = field(default_factory=set)  # ids whose relay consent was answered 201
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Figures:
    """What the soak did and found; `problems` is empty when everything held."""

    seed: int
    backend: str
    workers: int
    kills: Counter[str] = field(default_factory=Counter)  # "ROK worker", "USA node", ...
    accepted: int = 0
    at_sender: int = 0
    relayed: int = 0
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The figures on a few lines."""
        kills = ", ".join(f"{what} {n}" for what, n in sorted(self.kills.items()))
        return "\n".join(
            [
                (
                    f"{self.backend}, {self.workers} worker(s) a node, seed {self.seed}: {sum(self.kills.values())} "
                    f"kills ({kills}) in {self.seconds:.0f} s"
                ),
                f"accepted {self.accepted} reports, {self.at_sender} at {SENDER}, {self.relayed} relayed to {FINAL}",
                f"lost {self.lost}, duplicated {self.duplicated}; problems {len(self.problems)}",
                *[f"  - {problem}" for problem in self.problems[:40]],
            ]
        )


def _children(pid: int) -> list[int]:
    """The processes `pid` started (uvicorn's workers and multiprocessing's helpers)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    except OSError:
        return []
    return [int(one) for one in listed.split()]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Publisher(threading.Thread):
    """Publishes batches at ROK and consents to the relay of half of each, until told to stop."""

    def __init__(self, node: ClusterNode, prefix: str, ledger: Ledger) -> None:
        super().__init__(name=f"publisher-{prefix}", daemon=True)
        self.node, self.prefix, self.ledger = node, prefix, ledger
        self.stopping = threading.Event()

    def run(self) -> None:
        number = 0
        with httpx.Client(base_url=self.node.url, headers=self.node.headers, timeout=TIMEOUT) as http:
            while not self.stopping.is_set() and number < BATCHES_PER_ROUND:
                titles = [f"{self.prefix}-{number}-{k}" for k in range(BATCH)]
                number += 1
                bodies = [
                    {"title": t, "level": "군사II급비밀", "categories": ["dprk-missile"], "body": t} for t in titles
                ]
                try:
                    answer = http.post("/api/v1/reports/batch", json={"reports": bodies})
                except httpx.TransportError:
                    with self.ledger.lock:
                        self.ledger.cut_off.append(titles)
                    return
                if answer.status_code != httpx.codes.CREATED:
                    with self.ledger.lock:
                        self.ledger.errors.append(f"publish: HTTP {answer.status_code}: {answer.text[:300]}")
                    return
                ids = [one["id"] for one in answer.json()["results"]]
                with self.ledger.lock:
                    self.ledger.accepted.update(zip(titles, ids, strict=True))
                if not self._consent(http, ids[::2]):
                    return

    def _consent(self, http: httpx.Client, ids: list[str]) -> bool:
        for report_id in ids:
            try:
                answer = http.post(f"/api/v1/reports/{report_id}/consents", json={"arrangement": "TISA-2014"})
            except httpx.TransportError:
                return False  # stored or not: the check reads which from ROK's outbox
            if answer.status_code != httpx.codes.CREATED:
                with self.ledger.lock:
                    self.ledger.errors.append(f"consent: HTTP {answer.status_code}: {answer.text[:300]}")
                return False
            with self.ledger.lock:
                self.ledger.consented.add(report_id)
        return True


class KillSoak:
    """The three nodes, the rounds of publishing that end in kills, and the final count."""

    def __init__(self, base: Path, seed: int, backend: str, workers: int = 1, say: Callable[[str], None] = print):
        self.seed, self.backend, self.say = seed, backend, say
        self.workers = workers if backend == "postgresql" else 1
        self.rng = random.Random(seed)  # noqa: S311 - kill moments, not secrets
        self.stack = ExitStack()
        # Set before `close` to keep the PostgreSQL databases for a look at what went wrong (bench/soak_kills.py).
        self.keep_databases = False
        databases = None
        if backend == "postgresql":
            kept = lambda: self.keep_databases  # noqa: E731 - read when the databases would be dropped
            databases = {p: self.stack.enter_context(fresh_postgres_database("pactnet_soak", kept)) for p in PARTIES}
        self.nodes = create_cluster(base, WORLD, list(PARTIES), databases, SETTINGS)
        self.urls = {p: (databases or {}).get(p) or f"sqlite:///{self.nodes[p].folder / 'node.db'}" for p in PARTIES}
        self.ledger = Ledger()
        self.figures = Figures(seed, backend, self.workers)

    def query(self, party: str, sql: str) -> list[Any]:
        """Rows from a node's database (a connection of its own, closed at once)."""
        engine = create_engine(normalise_url(self.urls[party]), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql)).all())
        finally:
            engine.dispose()

    def start(self, *parties: str) -> None:
        """Start the nodes named (all by default), side by side; raise the first failure."""
        side_by_side(partial(self.restart, self.nodes[p]) for p in parties or PARTIES)

    def restart(self, node: ClusterNode) -> None:
        """Start a node once its port is free: the workers of a killed node may hold it for a moment longer."""
        deadline = time.monotonic() + TIMEOUT
        while not _port_is_free(node.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        node.start(workers=self.workers, timeout=START_SECONDS)

    def close(self) -> None:
        """Kill every node and drop the databases."""
        for node in self.nodes.values():
            node.kill()
        self.stack.close()

    def kill_one(self) -> None:
        """SIGKILL one process: a worker (PostgreSQL, mostly) or a whole node, which is then started again."""
        party = self.rng.choice(PARTIES)
        node = self.nodes[party]
        assert node.process is not None
        workers = _children(node.process.pid) if self.workers > 1 else []
        if workers and self.rng.random() < 0.8:
            os.kill(self.rng.choice(workers), signal.SIGKILL)  # uvicorn's supervisor starts another
            self.figures.kills[f"{party} worker"] += 1
            return
        node.kill()
        self.figures.kills[f"{party} node"] += 1
        self.restart(node)

    def run(self, kills: int) -> Figures:
        """Start, kill `kills` times during publishing, drain and check."""
        started = time.monotonic()
        self.start()
        for number in range(kills):
            publisher = Publisher(self.nodes[SENDER], f"s{self.seed}-k{number}", self.ledger)
            publisher.start()
            time.sleep(self.rng.uniform(0.1, LONGEST_DELAY))
            self.kill_one()
            publisher.stopping.set()
            publisher.join(TIMEOUT)
            if number % 10 == 9:
                self.say(f"{number + 1} kills, {len(self.ledger.accepted)} reports accepted")
        self.drain(120.0)
        self.check()
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def pending(self) -> dict[str, int]:
        """Outbox rows still pending at each node."""
        return {p: int(self.query(p, "SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0]) for p in PARTIES}

    def drain(self, seconds: float) -> None:
        """Wait until nothing is pending anywhere, or note what is."""
        deadline = time.monotonic() + seconds
        while sum(self.pending().values()):
            if time.monotonic() > deadline:
                self.figures.problems.append(f"still pending after {seconds:.0f} s: {self.pending()}")
                return
            time.sleep(0.2)

    def check(self) -> None:
        """Count, from the databases, what reached whom, and compare it with what ROK accepted."""
        figures, ledger, problems = self.figures, self.ledger, self.figures.problems
        problems += [f"answered neither 201 nor a cut connection: {error}" for error in ledger.errors]
        at_sender = dict(self.query(SENDER, "SELECT id, title FROM reports WHERE received_from IS NULL"))
        titles = Counter(at_sender.values())
        problems += [f"{title} is stored {n} times at {SENDER}" for title, n in titles.items() if n > 1]
        problems += [
            f"{t} was accepted but is not at {SENDER}" for t, i in ledger.accepted.items() if i not in at_sender
        ]
        for request in ledger.cut_off:
            if len({title in titles for title in request}) > 1:
                problems.append(f"a cut-off request was stored in part: {request}")
        figures.accepted, figures.at_sender = len(ledger.accepted), len(at_sender)
        relayed = self._check_sender_rows(at_sender)
        problems += [
            f"consent to relay {i} was answered 201 but no leg for {FINAL}" for i in ledger.consented - relayed
        ]
        figures.relayed = len(relayed)
        self._check_held(HUB, set(at_sender), set(at_sender))
        self._check_held(FINAL, set(at_sender), relayed)
        onward = self.query(HUB, "SELECT report_id, state FROM outbox WHERE kind = 'transfer' AND final = 'JPN'")
        legs = Counter(report_id for report_id, _ in onward)
        if len(legs) != len(relayed) or any(n != 1 for n in legs.values()):
            problems.append(
                f"{HUB} has {len(onward)} onward legs for {len(legs)} items, not one for each of {len(relayed)}"
            )
        problems += [f"{HUB}'s leg of {r} to {FINAL} is {state}" for r, state in onward if state != "delivered"]
        for party, node in self.nodes.items():
            self._check_node(party, node)

    def _check_sender_rows(self, at_sender: dict[str, str]) -> set[str]:
        """One delivered transfer to USA per report, at most one delivered leg for JPN; the reports relayed."""
        rows = self.query(SENDER, "SELECT report_id, final, state FROM outbox WHERE kind = 'transfer'")
        legs = Counter((report_id, final) for report_id, final, _ in rows)
        problems = self.figures.problems
        problems += [f"{r} has {n} transfers for {final} at {SENDER}" for (r, final), n in legs.items() if n > 1]
        problems += [f"{r} to {final} is {state} at {SENDER}" for r, final, state in rows if state != "delivered"]
        problems += [f"{r} was never sent to {HUB}" for r in at_sender if (r, HUB) not in legs]
        return {report_id for report_id, final in legs if final == FINAL}

    def _check_held(self, party: str, sent: set[str], expected: set[str]) -> None:
        """`party` holds each of `expected` exactly once, and nothing else of `sent`."""
        held = Counter(
            origin for (origin,) in self.query(party, "SELECT origin_id FROM reports WHERE originator = 'ROK'")
        )
        figures, problems = self.figures, self.figures.problems
        missing, doubled = expected - set(held), {o: n for o, n in held.items() if n > 1}
        figures.lost += len(missing)
        figures.duplicated += sum(n - 1 for n in doubled.values())
        problems += [f"{origin} never reached {party}" for origin in sorted(missing)]
        problems += [f"{origin} is stored {n} times at {party}" for origin, n in sorted(doubled.items())]
        problems += [f"{party} holds {origin}, never sent to it" for origin in sorted(set(held) - expected)]
        problems += [f"{party} holds {origin}, which ROK does not have" for origin in sorted(set(held) - sent)]

    def _check_node(self, party: str, node: ClusterNode) -> None:
        """One `delivered` audit entry per delivered row, an audit log that verifies, no traceback in the log."""
        problems = self.figures.problems
        ((settled,),) = self.query(party, "SELECT count(*) FROM outbox WHERE state = 'delivered'")
        ((audited,),) = self.query(party, "SELECT count(*) FROM audit_entries WHERE kind = 'delivered'")
        if settled != audited:
            problems.append(f"{party} settled {settled} deliveries but audited {audited}")
        answer = httpx.get(f"{node.url}/api/v1/audit", params={"limit": 1}, headers=node.headers, timeout=120)
        if answer.status_code != httpx.codes.OK or not answer.json()["verification"]["intact"]:
            problems.append(f"{party}'s audit log does not verify: {answer.text[:500]}")
        log = (node.folder / "serve.log").read_text(encoding="utf-8", errors="replace")
        if "Traceback" in log:
            problems.append(f"{party}'s serve.log has {log.count('Traceback')} tracebacks ({node.folder})")
