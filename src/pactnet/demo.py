"""The three-node demo: JPN, ROK and USA nodes replay the GSOMIA crisis of 2019 over real HTTP.

Each node is a separate `pactnet node serve` process on a free loopback port with its own SQLite database in a
temporary folder, wired from the bundled GSOMIA world without the acts of 2019: those are recorded live, at
ROK's node, and travel to JPN's. All nodes read one scenario clock (pactnet.scenario) that the demo moves from
one instant of the story to the next. The story runs twice: as it happened, and without Seoul's suspension.
"""

from __future__ import annotations

import signal
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx

from pactnet.cluster import create_cluster
from pactnet.errors import PactnetError
from pactnet.scenario import set_scenario
from pactnet.world import load_document, read_document

if TYPE_CHECKING:
    from collections.abc import Callable

GSOMIA = "JPN-ROK-GSOMIA-2016"
PARTIES = ["JPN", "ROK", "USA"]
# The acts of 2019 and after, which the demo records live instead of reading them from the world file.
LIVE_EVENTS = ("rok-notice", "rok-suspends-notice", "rok-withdraws-notice", "rok-consents-relay-launch-0725")
DELIVERY_TIMEOUT = 20.0
STORY_STARTS = "2019-07-25T05:55:00+09:00"


class DemoError(PactnetError):
    """The demo could not run to its end; the message says where."""


# (name, originator, title, level, categories, precedence): the reports of the story.
LAUNCH = (
    "rok-launch",
    "ROK",
    "Ballistic missile launch from Hodo peninsula",
    "군사II급비밀",
    ["dprk-missile"],
    "flash",
)
TRACK = ("jpn-impact-track", "JPN", "Impact area estimate, Sea of Japan", "特定秘密", ["dprk-missile"], "immediate")
PLA_NAVY = ("rok-pla-navy", "ROK", "PLA Navy task group in the Korea Strait", "군사II급비밀", ["pla-navy"], "routine")


@dataclass
class Step:
    """One step of the story: what was done, the agreement's status at each node, and every delivery."""

    title: str
    run: str
    at: str
    notes: list[str] = field(default_factory=list)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: its fields, in order."""
        return asdict(self)


def demo_world(folder: Path) -> Path:
    """The bundled GSOMIA world without the acts the demo records live, written to `folder`."""
    # The bundled file is ours: its events are blank-line separated blocks, each with its id.
    text = resources.files("pactnet.worlds").joinpath("gsomia-2019.toml").read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    kept = [block for block in blocks if not any(f'id = "{event}"' in block for event in LIVE_EVENTS)]
    path = folder / "world.toml"
    path.write_text("\n\n".join(kept), encoding="utf-8")
    document, source = load_document(path)
    world = read_document(document, source)
    left = {event.id or "" for event in world.events} & set(LIVE_EVENTS)
    if left:
        raise DemoError(f"the demo world still holds {', '.join(sorted(left))}")
    return path


class Cluster:
    """The three running nodes of one run of the story, and the scenario clock they share."""

    def __init__(self, base: Path, run: str, start: str) -> None:
        self.run = run
        self.clock = base / f"{run}.clock"
        set_scenario(self.clock, datetime.fromisoformat(start))
        world = demo_world(base)
        self.nodes = create_cluster(base / run, str(world), PARTIES)
        self.http = httpx.Client(timeout=30)
        self.names: dict[tuple[str, str], str] = {}  # (party, report id) -> the demo's name of the report
        self.republished: set[tuple[str, str]] = set()  # reports of a story told before: new reports, same name

    def __enter__(self) -> Self:
        try:
            for node in self.nodes.values():
                node.start(self.clock)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every node (gracefully) and the client."""
        for node in self.nodes.values():
            node.stop()
        self.http.close()

    def at(self, instant: str) -> None:
        """Move the scenario to `instant`."""
        set_scenario(self.clock, datetime.fromisoformat(instant))

    def call(self, party: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:  # noqa: ANN401 - JSON
        """One API call at a party's node, as its officer; a refusal is a DemoError naming the call."""
        node = self.nodes[party]
        response = self.http.request(method, node.url + path, headers=node.headers, json=body)
        if response.status_code >= httpx.codes.BAD_REQUEST:
            raise DemoError(f"{party} {method} {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def publish(self, report: tuple[str, str, str, str, list[str], str]) -> dict[str, Any]:
        """The originator publishes a report to every partner; the publication with its decisions."""
        name, party, title, level, categories, precedence = report
        body = {"title": title, "level": level, "categories": categories, "precedence": precedence, "body": title}
        published: dict[str, Any] = self.call(party, "POST", "/api/v1/reports", body)
        # The same story published again is a new report with its own id: its deliveries say so.
        if name in self.names.values():
            self.republished.add((party, published["id"]))
        self.names[(party, published["id"])] = name
        return published

    def named(self, reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Reasons with every report id this demo published replaced by the report's name."""
        named = []
        for reason in reasons:
            message = str(reason.get("message", ""))
            for (_, report_id), name in self.names.items():
                message = message.replace(report_id, name)
            named.append(reason | {"message": message})
        return named

    def status(self, party: str) -> dict[str, Any]:
        """The GSOMIA's status as a party's node sees it now."""
        status: dict[str, Any] = self.call(party, "GET", f"/api/v1/agreements/{GSOMIA}")["status"]
        return status

    def statuses(self) -> dict[str, dict[str, Any]]:
        """The GSOMIA's status at both parties' nodes."""
        return {party: self.status(party) for party in ("ROK", "JPN")}

    def act(self, party: str, act: str) -> None:
        """Record a lifecycle act at a party's node, and wait until every other node has it too.

        USA's node must know of it as well: as TISA's hub it decides a relay with its own view of the pact, and a
        flash report relayed before the act reached it would be refused there as if the pact were in force.
        """
        self.call(party, "POST", f"/api/v1/agreements/{GSOMIA}/events", {"type": act})
        expected = _essence(self.status(party))
        for other in (code for code in PARTIES if code != party):
            _wait(partial(self.sees, other, expected), f"{act} to reach {other}'s node")

    def sees(self, party: str, essence: tuple[Any, ...]) -> bool:
        """Whether a party's node sees the GSOMIA in this state, with this notice and end."""
        return _essence(self.status(party)) == essence

    def deliveries(self, party: str, published: dict[str, Any]) -> list[dict[str, Any]]:
        """Wait until every transfer of a published report is settled; one entry per recipient."""
        report_id = published["id"]
        return [self._delivery(party, report_id, decision) for decision in published["decisions"]]

    def _delivery(self, party: str, report_id: str, decision: dict[str, Any]) -> dict[str, Any]:
        name = self.names.get((party, report_id), report_id)
        to = decision["to"]
        entry: dict[str, Any] = {"report": name, "from": party, "to": to, "route": [], "level": None}
        entry["new"] = (party, report_id) in self.republished
        if not decision["allowed"]:
            return entry | {"delivered": False, "reasons": self.named(decision["reasons"])}
        holder, local_id, route = party, report_id, [party]
        while True:
            row = self._settled(holder, local_id, to)
            if row is None:
                # Refused at first for want of consent, and not decided again since: no row to wait for.
                return entry | {"delivered": False, "reasons": self.named(decision["reasons"])}
            if row["state"] != "delivered":
                reasons = self.named(row["reasons"])
                return entry | {"route": [*route, row["to"]], "delivered": False, "reasons": reasons}
            route.append(row["to"])
            if row["to"] == to:
                return entry | {"route": route, "level": row["level"], "delivered": True, "reasons": []}
            holder, local_id = row["to"], row["stored_as"]  # a hub: follow the item to its next leg

    def _settled(self, holder: str, report_id: str, final: str) -> dict[str, Any] | None:
        """The last transfer of a report towards `final` at a node, once it is settled."""
        found: list[dict[str, Any]] = []

        def settled() -> bool:
            rows = self.call(holder, "GET", f"/api/v1/reports/{report_id}/deliveries")
            found[:] = [row for row in rows if row["kind"] == "transfer" and row["final"] == final]
            return not found or found[-1]["state"] != "pending"

        _wait(settled, f"{holder}'s transfer of {report_id} towards {final}")
        return found[-1] if found else None

    def grant_relay(self, published: dict[str, Any], arrangement: str) -> dict[str, Any]:
        """The originator consents to relaying a report under an arrangement; the re-decided publication."""
        self.call("ROK", "POST", f"/api/v1/reports/{published['id']}/consents", {"arrangement": arrangement})
        trail = self.call("ROK", "GET", f"/api/v1/decisions?report={published['id']}")
        latest: dict[str, dict[str, Any]] = {}
        for decision in trail:
            latest[decision["to"]] = decision
        return published | {"decisions": list(latest.values())}

    def audit(self) -> dict[str, dict[str, Any]]:
        """Each node's audit log verified, and each delivery's receipt matched with what the receiver stored."""
        result = {}
        for party in PARTIES:
            verification = self.call(party, "GET", "/api/v1/audit?limit=1")["verification"]
            result[party] = {"verified": bool(verification["intact"]), "entries": verification["entries"]}
        return result

    def receipts_match(self, steps: list[Step]) -> bool:
        """Every delivery the senders recorded is a report stored at its receiver, marked as the receipt says."""
        for step in steps:
            for delivery in step.deliveries:
                if not delivery["delivered"]:
                    continue
                found = self.call(delivery["to"], "GET", f"/api/v1/reports?originator={delivery['from']}&limit=500")
                levels = {item["level"] for item in found["items"]}
                if delivery["level"] not in levels:
                    return False
        return True


def _essence(status: dict[str, Any]) -> tuple[Any, ...]:
    return status["state"], status["notice"], status["ends_at"]


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {DELIVERY_TIMEOUT:.0f} s waiting for {what}")
        time.sleep(0.02)


def _as_it_happened(cluster: Cluster) -> list[Step]:
    """Steps 1 to 3, told on a running cluster: launch reports shared directly; the notice; its suspension."""
    run = cluster.run
    steps: list[Step] = []
    step = Step("25 July 2019: a launch, an impact track, a PLA Navy report", run, "2019-07-25T05:59:00+09:00")
    cluster.at(step.at)
    for report in (LAUNCH, TRACK, PLA_NAVY):
        step.deliveries += cluster.deliveries(report[1], cluster.publish(report))
    steps.append(step)

    step = Step("23 August 2019: ROK gives notice of termination", run, "2019-08-23T15:25:00+09:00")
    cluster.at(step.at)
    cluster.act("ROK", "notify_termination")
    step.statuses = cluster.statuses()
    step.notes.append("ROK's notice travelled to JPN's node: both show the pact ending at midnight on 23 November")
    steps.append(step)

    step = Step("22 November 2019, 18:00: ROK suspends its notice", run, "2019-11-22T18:00:00+09:00")
    cluster.at(step.at)
    cluster.act("ROK", "suspend_notice")
    cluster.at("2019-11-23T06:00:00+09:00")
    step.statuses = cluster.statuses()
    step.notes.append("at midnight nothing ends: at 06:00 on 23 November the pact is still in force")
    step.deliveries += cluster.deliveries("ROK", cluster.publish(LAUNCH))
    steps.append(step)
    return steps


def as_it_happened(base: Path) -> tuple[list[Step], dict[str, dict[str, Any]], bool]:
    """Steps 1 to 3: launch reports shared directly; the notice; its suspension; nothing ends at midnight."""
    with Cluster(base, "as-it-happened", STORY_STARTS) as cluster:
        steps = _as_it_happened(cluster)
        return steps, cluster.audit(), cluster.receipts_match(steps)


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve_demo(ready: Callable[[dict[str, tuple[str, str]]], None], workdir: Path | None = None) -> None:
    """The story as it happened, then its three nodes left running until interrupted (Ctrl-C, or SIGTERM).

    `ready` is told each party's console URL and its officer's token once the story is told; the nodes stop
    gracefully when the wait is interrupted, and their temporary folder is removed.
    """
    # SIGTERM (`kill`, a service manager) stops the demo as Ctrl-C does: never leave its nodes behind. Ctrl-C's
    # handler is set too: Python leaves SIGINT alone when it starts with SIGINT ignored (a shell's background job).
    previous = {stop: signal.signal(stop, _interrupt) for stop in (signal.SIGTERM, signal.SIGINT)}
    try:
        with tempfile.TemporaryDirectory(prefix="pactnet-demo-") as temporary:
            base = Path(workdir or temporary)
            with Cluster(base, "as-it-happened", STORY_STARTS) as cluster:
                _as_it_happened(cluster)
                ready({party: (f"{node.url}/ui/", node.token) for party, node in cluster.nodes.items()})
                _wait_for_interrupt(cluster)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _wait_for_interrupt(cluster: Cluster) -> None:
    """Until Ctrl-C or SIGTERM; a node that stops on its own ends the demo with an error."""
    try:
        while all(node.process is not None and node.process.poll() is None for node in cluster.nodes.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        return
    raise DemoError("a node of the demo stopped on its own; see its serve.log")


def without_the_suspension(base: Path) -> tuple[list[Step], dict[str, dict[str, Any]], bool]:
    """Step 4, the counterfactual: the notice is never suspended and the pact ends at midnight."""
    run = "without-the-suspension"
    steps: list[Step] = []
    with Cluster(base, run, "2019-08-23T15:20:00+09:00") as cluster:
        cluster.at("2019-08-23T15:25:00+09:00")
        cluster.act("ROK", "notify_termination")
        step = Step("23 November 2019, 06:00, had ROK not suspended its notice", run, "2019-11-23T06:00:00+09:00")
        cluster.at(step.at)
        step.statuses = cluster.statuses()
        launch = cluster.publish(LAUNCH)
        step.notes.append("the launch report cannot go directly; through USA it needs ROK's consent to relay")
        step.notes.append("ROK consents to relaying the launch report under TISA-2014")
        launch = cluster.grant_relay(launch, "TISA-2014")
        step.deliveries += cluster.deliveries("ROK", launch)
        step.deliveries += cluster.deliveries("ROK", cluster.publish(PLA_NAVY))
        steps.append(step)
        return steps, cluster.audit(), cluster.receipts_match(steps)


def run_demo(workdir: Path | None = None) -> dict[str, Any]:
    """Both runs of the story; the summary `pactnet demo` prints. Nothing is left running."""
    with tempfile.TemporaryDirectory(prefix="pactnet-demo-") as temporary:
        base = Path(workdir or temporary)
        first, first_audit, first_receipts = as_it_happened(base)
        second, second_audit, second_receipts = without_the_suspension(base)
    audit = {
        party: {
            "verified": first_audit[party]["verified"] and second_audit[party]["verified"],
            "runs": {"as-it-happened": first_audit[party], "without-the-suspension": second_audit[party]},
        }
        for party in PARTIES
    }
    return {
        "steps": [step.as_dict() for step in [*first, *second]],
        "audit": audit,
        "receipts_match": first_receipts and second_receipts,
    }
