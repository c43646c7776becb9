"""Crash safety of the outbox: kill -9 the sending node at random moments of a fan-out, restart it, repeat.

Real `pactnet node serve` processes (pactnet.cluster): ROK publishes reports in batches and one at a time from
a thread that keeps publishing, while its dispatcher fans each one out to JPN and USA. At a random moment
(a delay drawn from a seeded RNG; the seed is printed) the ROK node is killed with SIGKILL, then started again,
and so on; in every third round one of the receiving nodes is killed at its own random moment as well.

At the end, once ROK's outbox has nothing pending: every report whose publish request was answered 201 exists
at ROK, a request that was cut off is stored entirely or not at all, every report that exists at ROK was
delivered to each receiver exactly once (no duplicate, none missing, counted by origin id in the receiver's
database as well as through the API), the deliveries endpoint shows `delivered` for each transfer, and the
audit log of every node verifies intact.

A second test kills the sender between the receiver's answer and its own record of it, and keeps it down longer
than the envelopes' clock skew (a scenario clock moved ten minutes on): the receiver answers the resent
envelope with the receipt it signed the first time, and the sender must take it rather than retry for ever.

`CrashLoop` is also the engine of `bench/soak_crash.py`, the longer soak run (bench/README.md).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from pactnet.cluster import ClusterNode, create_cluster
from pactnet.scenario import set_scenario
from tests.e2e.side_by_side import side_by_side

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

WORLD = "gsomia-2019"
SENDER = "ROK"
RECEIVERS = ("JPN", "USA")
# Short backoff, so that a partner back from the dead is tried again at once.
SETTINGS: dict[str, Any] = {"retry_first_ms": 50, "retry_longest_ms": 500}
PRECEDENCES = ("flash", "immediate", "priority", "routine")
PAGE = 500
REQUEST_TIMEOUT = 30.0
# The rounds of the test: enough to kill at every phase (publishing, fan-out, resending after a restart,
# idle), few enough to stay well under a minute with a node start of about a second.
TEST_ROUNDS = 20
# The longest delay before the kill of a round, in seconds: a round publishes for ~0.2 s, then fans out.
LONGEST_DELAY = 0.6
# Reports published per round at most (batches of up to MAX_BATCH, or one per request).
REPORTS_PER_ROUND = 40
MAX_BATCH = 25
# The longest pause between two publish requests of a round, in seconds.
PAUSE = 0.05
DRAIN_SECONDS = 60.0


def report(title: str, precedence: str) -> dict[str, Any]:
    """A ROK missile report that ROK may send to JPN (GSOMIA in force) and to USA."""
    return {
        "title": title,
        "level": "군사II급비밀",
        "categories": ["dprk-missile"],
        "precedence": precedence,
        "body": f"{title}: SRBM launch, Wonsan, 06:00 KST",
    }


@dataclass
class Ledger:
    """What the publishers were told: titles answered 201 with their ids, and requests cut off mid-way."""

    accepted: dict[str, str] = field(default_factory=dict)  # title -> id at ROK
    accepted_requests: int = 0
    cut_off: list[list[str]] = field(default_factory=list)  # titles of each request without an answer
    errors: list[str] = field(default_factory=list)  # answers that were neither 201 nor a cut connection
    lock: threading.Lock = field(default_factory=threading.Lock)


class Publisher(threading.Thread):
    """Publishes at the sender until told to stop, the node dies under it, or the round's reports are out."""

    def __init__(self, node: ClusterNode, prefix: str, rng: random.Random, ledger: Ledger, limit: int) -> None:
        super().__init__(name=f"publisher-{prefix}", daemon=True)
        self.node = node
        self.prefix = prefix
        self.rng = rng
        self.ledger = ledger
        self.limit = limit
        self.stopping = threading.Event()

    def run(self) -> None:
        sent = 0
        with httpx.Client(base_url=self.node.url, headers=self.node.headers, timeout=REQUEST_TIMEOUT) as http:
            while not self.stopping.is_set() and sent < self.limit:
                single = self.rng.random() < 0.3
                size = 1 if single else min(self.rng.randint(1, MAX_BATCH), self.limit - sent)
                titles = [f"{self.prefix}-{sent + k}" for k in range(size)]
                bodies = [report(title, self.rng.choice(PRECEDENCES)) for title in titles]
                try:
                    if single:
                        answer = http.post("/api/v1/reports", json=bodies[0])
                    else:
                        answer = http.post("/api/v1/reports/batch", json={"reports": bodies})
                except httpx.TransportError:
                    with self.ledger.lock:  # killed while publishing: stored or not, we cannot tell yet
                        self.ledger.cut_off.append(titles)
                    return
                if answer.status_code != httpx.codes.CREATED:
                    with self.ledger.lock:
                        self.ledger.errors.append(f"{titles[0]}: HTTP {answer.status_code}: {answer.text[:300]}")
                    return
                ids = [answer.json()["id"]] if single else [one["id"] for one in answer.json()["results"]]
                with self.ledger.lock:
                    self.ledger.accepted.update(zip(titles, ids, strict=True))
                    self.ledger.accepted_requests += 1
                sent += size
                self.stopping.wait(self.rng.uniform(0.0, PAUSE))  # spread the round's reports over its window


@dataclass
class Figures:
    """What a crash loop did and what it found; `problems` is empty when everything held."""

    seed: int
    rounds: int = 0
    sender_kills: int = 0
    receiver_kills: int = 0
    pending_at_kills: list[int] = field(default_factory=list)  # ROK's pending outbox rows as each kill came
    accepted_requests: int = 0
    accepted: int = 0
    cut_off_requests: int = 0
    cut_off_stored: int = 0
    at_sender: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    replays: dict[str, int] = field(default_factory=dict)  # resent envelopes a receiver answered as replays
    audit_intact: dict[str, bool] = field(default_factory=dict)
    tracebacks: dict[str, int] = field(default_factory=dict)  # in each node's serve.log
    restart_seconds: float = 0.0
    drain_seconds: float = 0.0
    check_seconds: float = 0.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The figures on a few lines."""
        lines = [
            (
                f"seed={self.seed} rounds={self.rounds} sender kills={self.sender_kills} "
                f"receiver kills={self.receiver_kills}; sender kills during a fan-out: "
                f"{sum(1 for n in self.pending_at_kills if n)} (up to {max(self.pending_at_kills, default=0)} "
                "outbox rows pending)"
            ),
            (
                f"wall {self.seconds:.1f} s: restarts {self.restart_seconds:.1f} s, "
                f"drain {self.drain_seconds:.1f} s, checks {self.check_seconds:.1f} s"
            ),
            (
                f"accepted={self.accepted} reports in {self.accepted_requests} requests; cut off="
                f"{self.cut_off_requests} requests ({self.cut_off_stored} stored whole, the rest not at all); "
                f"at {SENDER}={self.at_sender}"
            ),
        ]
        lines += [
            f"{party}: delivered={self.delivered.get(party, 0)} duplicates={self.duplicates.get(party, 0)} "
            f"missing={self.missing.get(party, 0)} (resends answered as replays: {self.replays.get(party, 0)})"
            for party in RECEIVERS
        ]
        lines.append("audit intact: " + ", ".join(f"{party}={ok}" for party, ok in self.audit_intact.items()))
        lines.append("tracebacks in serve.log: " + ", ".join(f"{party}={n}" for party, n in self.tracebacks.items()))
        lines.append(f"problems: {len(self.problems)}")
        lines += [f"  - {problem}" for problem in self.problems[:50]]
        return "\n".join(lines)


def _start_all(nodes: Iterable[ClusterNode]) -> None:
    """Start nodes side by side; raise the first failure."""
    side_by_side(node.start for node in nodes)


def _query(node: ClusterNode, sql: str, *parameters: str) -> list[tuple[Any, ...]]:
    """Rows from a node's SQLite database, read-only (such a connection never checkpoints the log)."""
    with closing(sqlite3.connect(f"file:{node.folder / 'node.db'}?mode=ro", uri=True, timeout=10)) as database:
        return database.execute(sql, parameters).fetchall()


def _pages(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    """Every item of a paged listing, following `next`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"originator": SENDER, "limit": PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        answer = http.get(path, params=params)
        answer.raise_for_status()
        page = answer.json()
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items


class CrashLoop:
    """A cluster of ROK, JPN and USA nodes, and rounds of publishing at ROK that end in a kill -9."""

    def __init__(
        self,
        base: Path,
        seed: int,
        say: Callable[[str], None] | None = None,
        *,
        reports_per_round: int = REPORTS_PER_ROUND,
        longest_delay: float = LONGEST_DELAY,
    ) -> None:
        self.seed = seed
        self.reports_per_round = reports_per_round
        self.longest_delay = longest_delay
        self.rng = random.Random(seed)  # noqa: S311 - kill moments, not secrets
        self.say = say or (lambda _line: None)
        self.nodes = create_cluster(base, WORLD, [SENDER, *RECEIVERS], settings=SETTINGS)
        self.ledger = Ledger()
        self.figures = Figures(seed)
        self._started = time.monotonic()

    @property
    def sender(self) -> ClusterNode:
        """The ROK node."""
        return self.nodes[SENDER]

    def start(self) -> None:
        """Start every node."""
        _start_all(self.nodes.values())

    def close(self) -> None:
        """Stop every node that still runs (SIGKILL: nothing is left to finish)."""
        for node in self.nodes.values():
            node.kill()

    def crash_round(self, number: int) -> None:
        """Publish at ROK from a thread, kill ROK (and, every third round, a receiver) at random moments."""
        rng = self.rng
        publisher = Publisher(
            self.sender,
            f"s{self.seed}-r{number}",
            random.Random(rng.getrandbits(64)),  # noqa: S311 - test data
            self.ledger,
            self.reports_per_round,
        )
        kills = [(rng.uniform(0.0, self.longest_delay), SENDER)]
        if number % 3 == 2:
            kills.append((rng.uniform(0.0, self.longest_delay), rng.choice(RECEIVERS)))
        started = time.monotonic()
        publisher.start()
        pending = 0
        for delay, party in sorted(kills):
            time.sleep(max(0.0, started + delay - time.monotonic()))
            if party == SENDER:
                pending = self.pending()  # how much of a fan-out the kill cuts short (read just before it)
            self.nodes[party].kill()
        publisher.stopping.set()
        publisher.join(REQUEST_TIMEOUT)
        self.figures.rounds += 1
        self.figures.sender_kills += 1
        self.figures.receiver_kills += len(kills) - 1
        self.figures.pending_at_kills.append(pending)
        self.say(
            f"round {number}: killed "
            + ", ".join(f"{party} at {delay * 1000:.0f} ms" for delay, party in sorted(kills))
            + f"; {pending} outbox rows pending; accepted so far {len(self.ledger.accepted)}"
        )
        restarting = time.monotonic()
        _start_all(node for node in self.nodes.values() if node.process is None)
        self.figures.restart_seconds += time.monotonic() - restarting

    def run(self, rounds: int) -> Figures:
        """Start the nodes, run the rounds, let the outbox drain and check everything; the figures."""
        self.say(f"crash loop: seed {self.seed}, {rounds} rounds")
        self._started = time.monotonic()
        self.start()
        for number in range(rounds):
            self.crash_round(number)
        self.drain(DRAIN_SECONDS)
        checking = time.monotonic()
        self.check()
        self.figures.check_seconds = time.monotonic() - checking
        self.figures.seconds = time.monotonic() - self._started
        return self.figures

    def pending(self) -> int:
        """Rows of ROK's outbox still pending, read from its database."""
        ((count,),) = _query(self.sender, "SELECT count(*) FROM outbox WHERE state = 'pending'")
        return int(count)

    def drain(self, seconds: float) -> None:
        """Wait until no node's outbox has anything pending, or record that it did not in time."""
        started = time.monotonic()
        deadline = started + seconds
        left = self._pending_everywhere()
        while sum(left.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self._pending_everywhere()
        self.figures.drain_seconds = time.monotonic() - started
        for party, rows in left.items():
            if rows:
                self.figures.problems.append(f"{rows} outbox rows still pending at {party} after {seconds:.0f} s")

    def _pending_everywhere(self) -> dict[str, int]:
        query = "SELECT count(*) FROM outbox WHERE state = 'pending'"
        return {party: int(_query(node, query)[0][0]) for party, node in self.nodes.items()}

    def check(self) -> None:
        """Compare what was accepted, what exists at ROK, and what each receiver stored; audit every node."""
        figures, ledger, problems = self.figures, self.ledger, self.figures.problems
        problems += [f"publish answered neither 201 nor a cut connection: {error}" for error in ledger.errors]
        sender = self.sender
        with httpx.Client(base_url=sender.url, headers=sender.headers, timeout=REQUEST_TIMEOUT) as http:
            at_sender = {item["id"]: item["title"] for item in _pages(http, "/api/v1/reports")}
        titles = Counter(at_sender.values())
        problems += [f"{title} is stored {n} times at {SENDER}" for title, n in titles.items() if n > 1]
        figures.at_sender = len(at_sender)
        figures.accepted = len(ledger.accepted)
        figures.accepted_requests = ledger.accepted_requests
        for title, report_id in ledger.accepted.items():
            if at_sender.get(report_id) != title:
                problems.append(f"{title} was accepted as {report_id} but {SENDER} does not have it")
        figures.cut_off_requests = len(ledger.cut_off)
        for request in ledger.cut_off:
            stored = [title in titles for title in request]
            if all(stored):
                figures.cut_off_stored += 1
            elif any(stored):
                problems.append(f"a cut-off request was stored in part: {sum(stored)} of {len(request)} reports")
        sent = set(ledger.accepted) | {title for request in ledger.cut_off for title in request}
        problems += [f"{title} exists at {SENDER} but nobody published it" for title in titles if title not in sent]

        stored_as = self._deliveries(at_sender)
        for party in RECEIVERS:
            self._check_receiver(party, at_sender, stored_as[party])
        for party, node in self.nodes.items():
            self._check_node(party, node)

    def _check_node(self, party: str, node: ClusterNode) -> None:
        """One delivered entry per delivered row, no traceback in the log, and an audit log that verifies."""
        figures, problems = self.figures, self.figures.problems
        # A row is settled once, whatever the crashes: one `delivered` audit entry per delivered row.
        ((settled,),) = _query(node, "SELECT count(*) FROM outbox WHERE state = 'delivered'")
        ((audited,),) = _query(node, "SELECT count(*) FROM audit_entries WHERE kind = 'delivered'")
        if settled != audited:
            problems.append(f"{party} settled {settled} deliveries but audited {audited}")
        log = (node.folder / "serve.log").read_text(encoding="utf-8", errors="replace")
        figures.tracebacks[party] = log.count("Traceback")
        if figures.tracebacks[party]:
            problems.append(f"{party}'s serve.log has {figures.tracebacks[party]} tracebacks ({node.folder})")
        answer = httpx.get(f"{node.url}/api/v1/audit", params={"limit": 1}, headers=node.headers, timeout=60)
        answer.raise_for_status()
        verification = answer.json()["verification"]
        figures.audit_intact[party] = bool(verification["intact"])
        if not verification["intact"]:
            problems.append(f"{party}'s audit log does not verify: {verification}")

    def _deliveries(self, at_sender: dict[str, str]) -> dict[str, dict[str, str]]:
        """For each receiver, ROK's report id -> the id it was stored as, from the deliveries endpoint."""
        sender, problems = self.sender, self.figures.problems
        stored_as: dict[str, dict[str, str]] = {party: {} for party in RECEIVERS}
        with httpx.Client(base_url=sender.url, headers=sender.headers, timeout=REQUEST_TIMEOUT) as http:

            def rows(report_id: str) -> list[dict[str, Any]]:
                answer = http.get(f"/api/v1/reports/{report_id}/deliveries")
                answer.raise_for_status()
                listed: list[dict[str, Any]] = answer.json()
                return listed

            with ThreadPoolExecutor(4) as pool:
                shown = dict(zip(at_sender, pool.map(rows, at_sender), strict=True))
        for report_id, deliveries in shown.items():
            by_final = Counter(row["final"] for row in deliveries)
            for party in RECEIVERS:
                if by_final[party] != 1:
                    problems.append(f"{report_id} has {by_final[party]} outbox rows for {party}, not one")
            for row in deliveries:
                if row["state"] != "delivered" or not row["stored_as"]:
                    problems.append(f"{report_id} to {row['to']}: {row['state']} ({row['last_error']})")
                elif row["to"] == row["final"] and row["to"] in stored_as:
                    stored_as[row["to"]][report_id] = row["stored_as"]
        return stored_as

    def _check_receiver(self, party: str, at_sender: dict[str, str], stored_as: dict[str, str]) -> None:
        """Each ROK report stored once at `party`: by origin id, by its listing, and by the receipts."""
        figures, problems, node = self.figures, self.figures.problems, self.nodes[party]
        counted = dict(
            _query(node, "SELECT origin_id, count(*) FROM reports WHERE originator = ? GROUP BY origin_id", SENDER)
        )
        ((replays,),) = _query(node, "SELECT count(*) FROM audit_entries WHERE kind = 'replayed-envelope'")
        figures.replays[party] = int(replays)
        duplicates = {origin: n for origin, n in counted.items() if n > 1}
        missing = set(at_sender) - set(counted)
        unknown = set(counted) - set(at_sender)
        figures.delivered[party] = len(set(counted) & set(at_sender))
        figures.duplicates[party] = sum(n - 1 for n in duplicates.values())
        figures.missing[party] = len(missing)
        problems += [f"{origin} is stored {n} times at {party}" for origin, n in sorted(duplicates.items())]
        problems += [f"{origin} never reached {party}" for origin in sorted(missing)]
        problems += [f"{party} holds {origin}, which {SENDER} does not have" for origin in sorted(unknown)]
        with httpx.Client(base_url=node.url, headers=node.headers, timeout=REQUEST_TIMEOUT) as http:
            received = {item["id"]: item["title"] for item in _pages(http, "/api/v1/reports")}
        if Counter(received.values()) != Counter(at_sender.values()):
            problems.append(f"{party} lists {len(received)} reports from {SENDER}, not the {len(at_sender)} it has")
        if set(received) != set(stored_as.values()):
            extra = len(set(received) - set(stored_as.values()))
            lacking = len(set(stored_as.values()) - set(received))
            problems.append(f"{party} lists {extra} reports no receipt names, and lacks {lacking} receipts name")
        for report_id, stored in stored_as.items():
            if received.get(stored) != at_sender[report_id]:
                problems.append(f"{party} stored {report_id} as {stored}, titled {received.get(stored)!r}")


def test_killing_the_sender_mid_fan_out_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("PACTNET_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash safety: seed {seed} (PACTNET_CRASH_SEED={seed} to draw the same kill moments again)")  # noqa: T201
    loop = CrashLoop(tmp_path, seed, say=print)
    try:
        figures = loop.run(TEST_ROUNDS)
    finally:
        loop.close()
    print(figures.summary())  # noqa: T201
    assert figures.sender_kills >= 20
    assert figures.receiver_kills >= 1
    assert any(figures.pending_at_kills), "no kill came during a fan-out"
    assert figures.accepted > 0
    assert not figures.problems, figures.summary()
    assert figures.at_sender >= figures.accepted
    for party in RECEIVERS:
        assert figures.delivered[party] == figures.at_sender, figures.summary()
        assert figures.duplicates[party] == 0
        assert figures.missing[party] == 0
    assert all(figures.audit_intact.values()), figures.summary()


def _delivery_to(http: httpx.Client, report_id: str, party: str, seconds: float = 15.0) -> dict[str, Any]:
    """The outbox row of `report_id` to `party` as the deliveries endpoint shows it, once settled (or at the end)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = http.get(f"/api/v1/reports/{report_id}/deliveries")
        answer.raise_for_status()
        rows: list[dict[str, Any]] = [row for row in answer.json() if row["to"] == party]
        (row,) = rows
        if row["state"] != "pending" or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def test_a_sender_back_after_longer_than_the_skew_takes_the_receipt_it_missed(tmp_path: Path) -> None:
    # The sender dies after the receiver stored the report and before it wrote the receipt down, and stays down
    # for ten minutes. The resent envelope is answered with the receipt signed the first time (a replay), ten
    # minutes old: it names the row's envelope, so the sender takes it instead of retrying for ever.
    clock = tmp_path / "clock.json"
    set_scenario(clock, datetime.now(UTC))
    nodes = create_cluster(tmp_path, WORLD, [SENDER, "JPN"], settings=SETTINGS)
    sender, receiver = nodes[SENDER], nodes["JPN"]
    try:
        sender.start(clock)
        receiver.start(clock)
        with httpx.Client(base_url=sender.url, headers=sender.headers, timeout=REQUEST_TIMEOUT) as http:
            published = http.post("/api/v1/reports", json=report("late receipt", "flash"))
            assert published.status_code == 201, published.text
            report_id = published.json()["id"]
            first = _delivery_to(http, report_id, "JPN")
        assert first["state"] == "delivered", first
        sender.kill()
        # What the sender's database holds when it dies between the receiver's answer and writing it down.
        with closing(sqlite3.connect(sender.folder / "node.db", timeout=10)) as database:
            database.execute(
                "UPDATE outbox SET state = 'pending', settled_at = NULL, outcome = NULL, answer = NULL"
                " WHERE envelope_id = ?",
                (first["envelope"],),
            )
            database.commit()
        set_scenario(clock, datetime.now(UTC) + timedelta(minutes=10))
        sender.start(clock)
        with httpx.Client(base_url=sender.url, headers=sender.headers, timeout=REQUEST_TIMEOUT) as http:
            again = _delivery_to(http, report_id, "JPN")
        assert again["state"] == "delivered", again
        assert again["stored_as"] == first["stored_as"]
        with httpx.Client(base_url=receiver.url, headers=receiver.headers, timeout=REQUEST_TIMEOUT) as http:
            assert [item["id"] for item in _pages(http, "/api/v1/reports")] == [first["stored_as"]]
    finally:
        sender.kill()
        receiver.kill()
