"""Three real nodes for the fault tests: ROK sends to JPN through a fault proxy and to USA directly.

Each node is a `pactnet node serve` process on loopback (pactnet.cluster), on SQLite or on a PostgreSQL database
it is given. ROK's `partners.toml` names the proxy (tests.fault_proxy) as JPN's URL. `publish` sends ROK reports
to both partners, some of them at a level the JPN-ROK GSOMIA does not map (refused for JPN, allowed for USA);
`settle` waits until none of them is pending at ROK; `problems` lists, for a set of published reports, every
way the network failed them: an allowed one not at JPN exactly once, a refused one at JPN at all, one not at USA
exactly once, a transfer not shown `delivered` (or `refused`, `cancelled`) at ROK, an audit log that does not
verify, a traceback in a node's log. Everything is read through the nodes' HTTP APIs, so it reads the same on
either database.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from pactnet.cluster import create_cluster
from pactnet.crypto.identity import verify_identity
from pactnet.federation.partners import save_partners
from pactnet.node import identity_document, partner_registry
from tests.e2e.side_by_side import side_by_side
from tests.fault_proxy import FaultProxy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from pactnet.cluster import ClusterNode

WORLD = "gsomia-2019"
SENDER, BEHIND, DIRECT = "ROK", "JPN", "USA"
PARTIES = (SENDER, BEHIND, DIRECT)
# Short backoff, so that a partner back from a fault is tried again at once.
SETTINGS: dict[str, Any] = {"retry_first_ms": 50, "retry_longest_ms": 500}
ALLOWED_LEVEL = "군사II급비밀"  # 極秘 at JPN, SECRET at USA
REFUSED_LEVEL = "군사I급비밀"  # the GSOMIA maps no JPN level to it: refused for JPN, allowed for USA
PRECEDENCES = ("flash", "routine", "immediate", "priority")
TIMEOUT = 30.0
PAGE = 500


@dataclass(frozen=True)
class Sent:
    """A report ROK published: its id there, and whether it may go to JPN."""

    id: str
    to_jpn: bool


def _start_all(nodes: Iterable[ClusterNode], clocks: dict[str, Path]) -> None:
    """Start nodes side by side, each on its clock; raise the first failure."""
    side_by_side(partial(node.start, clocks.get(node.party)) for node in nodes)


class Network:
    """ROK, JPN and USA as processes, ROK's way to JPN through a `FaultProxy`."""

    def __init__(
        self,
        base: Path,
        databases: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
        clocks: dict[str, Path] | None = None,
    ) -> None:
        self.nodes = create_cluster(base, WORLD, list(PARTIES), databases, SETTINGS | (settings or {}))
        self.clocks = clocks or {}  # a scenario clock file for each node whose clock the test moves
        self.kind = (
            "postgresql" if any(url.startswith("postgresql") for url in (databases or {}).values()) else "sqlite"
        )
        self.proxy = FaultProxy(self.nodes[BEHIND].port).start()
        self.stack = ExitStack()
        self.stack.callback(self.proxy.close)
        registry = partner_registry(self.nodes[SENDER].folder)
        document = identity_document(self.nodes[BEHIND].folder, self.proxy.url, datetime.now(UTC))
        save_partners(self.nodes[SENDER].folder, registry.trust(verify_identity(document)))
        for node in self.nodes.values():
            self.stack.callback(node.kill)
        self.http = {party: self._client(party) for party in PARTIES}

    def _client(self, party: str) -> httpx.Client:
        node = self.nodes[party]
        return self.stack.enter_context(httpx.Client(base_url=node.url, headers=node.headers, timeout=TIMEOUT))

    def start(self, *parties: str) -> None:
        """Start the nodes named (all of them by default)."""
        _start_all((self.nodes[party] for party in parties or PARTIES), self.clocks)

    def close(self) -> None:
        """Kill every node and stop the proxy."""
        self.stack.close()

    def publish(self, prefix: str, count: int, *, refused_every: int = 3, key: str | None = None) -> dict[str, Sent]:
        """Publish `count` reports at ROK in one request (every `refused_every`-th one refused for JPN); by title.

        `key`: the request's Idempotency-Key, for a retry to be answered as the first request was.
        """
        bodies = [
            {
                "title": f"{prefix}-{n}",
                "level": REFUSED_LEVEL if n % refused_every == refused_every - 1 else ALLOWED_LEVEL,
                "categories": ["dprk-missile"],
                "precedence": PRECEDENCES[n % len(PRECEDENCES)],
                "body": f"{prefix}-{n}: SRBM launch, Wonsan",
            }
            for n in range(count)
        ]
        headers = {} if key is None else {"Idempotency-Key": key}
        answer = self.http[SENDER].post("/api/v1/reports/batch", json={"reports": bodies}, headers=headers)
        assert answer.status_code == httpx.codes.CREATED, answer.text
        sent: dict[str, Sent] = {}
        for body, result in zip(bodies, answer.json()["results"], strict=True):
            allowed = {one["to"]: one["allowed"] for one in result["decisions"]}
            assert allowed == {BEHIND: body["level"] == ALLOWED_LEVEL, DIRECT: True}, result
            sent[str(body["title"])] = Sent(result["id"], allowed[BEHIND])
        return sent

    def deliveries(self, report_id: str) -> list[dict[str, Any]]:
        """ROK's outbox rows for a report, as its deliveries endpoint shows them."""
        answer = self.http[SENDER].get(f"/api/v1/reports/{report_id}/deliveries")
        answer.raise_for_status()
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def pending(self, sent: dict[str, Sent]) -> list[str]:
        """The transfers of `sent` still pending at ROK, each said with its last error."""
        return [
            f"{title} to {row['to']}: {row['attempts']} attempts, {row['last_error']}"
            for title, one in sent.items()
            for row in self.deliveries(one.id)
            if row["state"] == "pending"
        ]

    def settle(self, sent: dict[str, Sent], seconds: float = TIMEOUT) -> None:
        """Wait until nothing of `sent` is pending at ROK; fail naming what still is."""
        wait_for(lambda: not self.pending(sent), seconds, lambda: f"still pending: {self.pending(sent)[:10]}")

    def held(self, party: str) -> Counter[str]:
        """How many times `party` holds each ROK report, by title, from its listing."""
        titles: Counter[str] = Counter()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"originator": SENDER, "limit": PAGE} | ({"cursor": cursor} if cursor else {})
            answer = self.http[party].get("/api/v1/reports", params=params)
            answer.raise_for_status()
            page = answer.json()
            titles.update(item["title"] for item in page["items"])
            cursor = page["next"]
            if cursor is None:
                return titles

    def intact(self, party: str) -> bool:
        """Whether `party`'s audit log verifies, as its API says."""
        answer = self.http[party].get("/api/v1/audit", params={"limit": 1})
        answer.raise_for_status()
        return bool(answer.json()["verification"]["intact"])

    def problems(self, sent: dict[str, Sent]) -> list[str]:
        """Every way the network failed `sent`: see the module's docstring. Empty when everything held."""
        found: list[str] = []
        at_jpn, at_usa = self.held(BEHIND), self.held(DIRECT)
        for title, one in sent.items():
            expected = 1 if one.to_jpn else 0
            if at_jpn[title] != expected:
                found.append(f"{title} is held {at_jpn[title]} times at {BEHIND}, not {expected}")
            if at_usa[title] != 1:
                found.append(f"{title} is held {at_usa[title]} times at {DIRECT}, not once")
            # A transfer refused at publishing has no outbox row; each allowed one has exactly one.
            rows = sorted((row["to"], row["state"]) for row in self.deliveries(one.id))
            expected_rows = sorted([(DIRECT, "delivered"), *([(BEHIND, "delivered")] if one.to_jpn else [])])
            if rows != expected_rows:
                found.append(f"{title}: ROK's transfers are {rows}, not {expected_rows}")
        found += [f"{party}'s audit log does not verify" for party in PARTIES if not self.intact(party)]
        for party, node in self.nodes.items():
            log = (node.folder / "serve.log").read_text(encoding="utf-8", errors="replace")
            if "Traceback" in log:
                found.append(f"{party}'s serve.log has a traceback: {log[log.index('Traceback') :][:1500]}")
        return found

    def check(self, sent: dict[str, Sent]) -> None:
        """Fail, listing every problem, unless `problems(sent)` is empty."""
        found = self.problems(sent)
        assert not found, "\n".join(found)


def wait_for(ready: Callable[[], bool], seconds: float, why: Callable[[], str]) -> None:
    """Poll `ready` until it is true, or fail after `seconds` with `why()`."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {why()}")
        time.sleep(0.1)
