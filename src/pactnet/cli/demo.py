"""`pactnet demo`: the GSOMIA story of November 2019, told by the policy core."""

from __future__ import annotations

from typing import Any

import typer
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from pactnet.cli import agreement as agreement_cli
from pactnet.cli.decide import render as render_decision
from pactnet.cli.impact import render as render_impact
from pactnet.cli.terminal import out, print_json
from pactnet.policy.clock import parse_instant
from pactnet.policy.decisions import decide
from pactnet.policy.impact import impact
from pactnet.world import load_world

GSOMIA = "JPN-ROK-GSOMIA-2016"
WORLDS = {"as it happened": "gsomia-2019", "without the suspension": "gsomia-2019-no-suspension"}
INSTANTS = (
    "2019-08-23T15:24:59+09:00",
    "2019-08-23T15:25:00+09:00",
    "2019-11-22T17:59:59+09:00",
    "2019-11-22T18:00:00+09:00",
    "2019-11-22T23:59:59+09:00",
    "2019-11-23T00:00:00+09:00",
    "2019-11-23T06:00:00+09:00",
)
# (report, holder, recipient, at): the questions Seoul and Tokyo faced on the night of 22-23 November 2019.
QUESTIONS = (
    ("rok-launch-2019-07-25", "ROK", "JPN", "2019-11-22T23:59:59+09:00"),
    ("rok-launch-2019-07-25", "ROK", "JPN", "2019-11-23T06:00:00+09:00"),
    ("jpn-impact-track-2019-07-25", "JPN", "ROK", "2019-11-23T06:00:00+09:00"),
    ("rok-pla-navy-2019-07-23", "ROK", "JPN", "2019-11-23T06:00:00+09:00"),
    ("rok-nuclear-level-one", "ROK", "JPN", "2019-11-22T12:00:00+09:00"),
)


def command(
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary instead."),
) -> None:
    """Replay the GSOMIA crisis of November 2019, with and without Seoul's suspension.

    The pact's timeline, its status around midnight on 23 November 2019, and what could be shared directly,
    only through Washington, or not at all.
    """
    worlds = {story: load_world(name) for story, name in WORLDS.items()}
    statuses = [
        {
            "world": WORLDS[story],
            **world.agreements[GSOMIA].history.status(parse_instant(at)).as_dict(world.agreements[GSOMIA].zone),
        }
        for story, world in worlds.items()
        for at in INSTANTS
    ]
    decisions: list[dict[str, Any]] = []
    for story, world in worlds.items():
        for report, holder, recipient, at in QUESTIONS:
            decision = decide(world, world.reports[report], holder, recipient, parse_instant(at))
            entry = {"world": WORLDS[story], "report": report, "holder": holder, "to": recipient, "at": at}
            decisions.append(entry | decision.as_dict())
    if as_json:
        print_json({"statuses": statuses, "decisions": decisions})
        return
    out.print(Rule("1. The Japan–ROK GSOMIA, 2016–2023"))
    agreement_cli.timeline("gsomia-2019", GSOMIA, None, as_json=False)
    out.print(Rule("2. Around midnight, 22–23 November 2019"))
    table = Table(title=f"{GSOMIA}: status")
    for column in ("at", *WORLDS):
        table.add_column(column)
    for index, at in enumerate(INSTANTS):
        row = [at]
        for offset in range(len(WORLDS)):
            status = statuses[offset * len(INSTANTS) + index]
            row.append(f"{status['state']}, notice {status['notice']}, ends {status['ends_at'] or '—'}")
        table.add_row(*row)
    out.print(table)
    out.print(Rule("3. What may travel, and how"))
    for story, world in worlds.items():
        out.print(Text.assemble("\n", (story, "bold"), f" ({WORLDS[story]})"))
        for report, holder, recipient, at in QUESTIONS:
            decision = decide(world, world.reports[report], holder, recipient, parse_instant(at))
            render_decision(decision, f"{report}: {holder} → {recipient} at {at}")
    out.print(Rule("4. Asked beforehand: what breaks if the GSOMIA ends at 2019-11-23T00:00+09:00?"))
    render_impact(impact(worlds["as it happened"], GSOMIA, parse_instant("2019-11-23T00:00:00+09:00")))
