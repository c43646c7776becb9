"""`pactnet demo`: three nodes (JPN, ROK, USA) replay the GSOMIA crisis of 2019.

As it happened and without Seoul's suspension: what travelled, to whom, by which route, marked how, or why not.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import typer
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from pactnet.cli.impact import render as render_impact
from pactnet.cli.terminal import fail, out, print_json
from pactnet.errors import PactnetError
from pactnet.policy.clock import parse_instant
from pactnet.policy.impact import Impact, impact
from pactnet.world import load_world

GSOMIA = "JPN-ROK-GSOMIA-2016"
MIDNIGHT = "2019-11-23T00:00:00+09:00"
# The demo's account reads in a terminal of 100 columns; its tables wrap their cells to fit.
WIDTH = 100


def command(
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary instead."),
    serve: bool = typer.Option(
        False, "--serve", help="Tell the story as it happened, then leave the three nodes running (Ctrl-C stops)."
    ),
) -> None:
    """Start JPN, ROK and USA nodes as processes on loopback and replay 2019 with a scenario clock.

    Reports travel as signed, encrypted envelopes under the agreements in force at each instant; the story is
    told as it happened, then without Seoul's suspension of its notice. Nothing is left running, unless
    `--serve`: then each node's web console URL and a token are printed, and the nodes run until Ctrl-C.
    """
    from pactnet.demo import run_demo, serve_demo  # noqa: PLC0415 - keeps `pactnet --help` fast

    if serve:
        if not as_json:
            out.print("Starting three nodes (JPN, ROK, USA) on loopback and telling 2019 as it happened…")
        try:
            serve_demo(partial(_print_consoles, as_json=as_json))
        except PactnetError as error:
            fail(f"the demo stopped: {error}")
        if not as_json:
            out.print("Stopped the three nodes.")
        return
    if not as_json:
        out.width = min(out.width, WIDTH)
        out.print("Starting three nodes (JPN, ROK, USA) on loopback; this takes a few seconds…")
    try:
        summary = run_demo()
    except PactnetError as error:
        fail(f"the demo stopped: {error}")
    if as_json:
        print_json(summary | {"impact": asked_beforehand().as_dict()})
        return
    render(summary)


def _print_consoles(consoles: dict[str, tuple[str, str]], *, as_json: bool) -> None:
    """Each node's console and the token to sign in with (its officer's: analyst, officer and auditor)."""
    if as_json:
        print_json({"consoles": {party: {"url": url, "token": token} for party, (url, token) in consoles.items()}})
        sys.stdout.flush()
        return
    # Plain lines, never wrapped: a token is copied whole.
    out.print("The nodes are running at 23 November 2019, 06:00 (KST). Sign in to a console with its token:")
    for party, (url, token) in consoles.items():
        out.print(f"  {party}  {url}  token {token}", markup=False, soft_wrap=True)
    out.print("Press Ctrl-C to stop the nodes.")


def asked_beforehand() -> Impact:
    """What the parties could have asked before the notice: what breaks if the GSOMIA ends at midnight."""
    return impact(load_world("gsomia-2019"), GSOMIA, parse_instant(MIDNIGHT))


def _status(status: dict[str, Any]) -> str:
    ends = status.get("ends_at") or "—"
    return f"{status['state']}, notice {status['notice']}, ends {ends}"


def _route(delivery: dict[str, Any]) -> str:
    return " → ".join(delivery["route"]) if delivery["route"] else "—"


def _outcome(delivery: dict[str, Any]) -> Text:
    if delivery["delivered"]:
        return Text("delivered", style="green")
    why = "\n".join(f"• {reason['message']}" for reason in delivery.get("reasons", [])) or "not sent"
    return Text(f"refused:\n{why}", style="red")


def _step(number: int, step: dict[str, Any]) -> None:
    out.print(Text.assemble("\n", (f"{number}. {step['title']}", "bold")))
    out.print(f"   scenario clock: {step['at']}")
    for note in step["notes"]:
        out.print(f"   {note}")
    if step["statuses"]:
        table = Table(title=f"{GSOMIA} as each node sees it")
        for column in ("node", "status"):
            table.add_column(column)
        for party, status in step["statuses"].items():
            table.add_row(party, _status(status))
        out.print(table)
    if step["deliveries"]:
        table = Table(title="What travelled")
        for column in ("report", "from → to", "route", "marked", "outcome"):
            table.add_column(column)
        for delivery in step["deliveries"]:
            table.add_row(
                delivery["report"] + (" (a new report)" if delivery.get("new") else ""),
                f"{delivery['from']} → {delivery['to']}",
                _route(delivery),
                delivery["level"] or "—",
                _outcome(delivery),
            )
        out.print(table)


def render(summary: dict[str, Any]) -> None:
    """The human account: a table per step, then the audit logs, then the question asked beforehand."""
    run = None
    for number, step in enumerate(summary["steps"], start=1):
        if step["run"] != run:
            run = step["run"]
            out.print(Rule(f"{'As it happened' if run == 'as-it-happened' else 'Without the suspension'}"))
        _step(number, step)
    out.print(Rule("Audit"))
    table = Table(title="Every node's audit log")
    for column in ("node", "as it happened", "without the suspension"):
        table.add_column(column)
    for party, audit in summary["audit"].items():
        cells = [
            f"{'verified' if one['verified'] else 'BROKEN'} ({one['entries']} entries)"
            for one in audit["runs"].values()
        ]
        table.add_row(party, *cells)
    out.print(table)
    matched = "every receipt matches a report stored at its receiver" if summary["receipts_match"] else "MISMATCH"
    out.print(f"Receipts: {matched}.")
    out.print(Rule(f"Asked beforehand: what breaks if {GSOMIA} ends at midnight on 23 November?"))
    render_impact(asked_beforehand())
