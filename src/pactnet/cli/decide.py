"""`pactnet decide`: may a holder pass a report to a recipient at an instant."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from pactnet.cli.terminal import fail, instant, open_world, out, print_json
from pactnet.policy.decisions import Decision, decide

if TYPE_CHECKING:
    from pactnet.policy.model import World


def _check_party(world: World, code: str, option: str) -> None:
    if code not in world.parties:
        fail(f"{option}: no party {code!r} in {world.source} (parties: {', '.join(world.parties)})")


def render(decision: Decision, title: str) -> None:
    """A decision as a person reads it: the route leg by leg, or every reason for the refusal."""
    if decision.allowed:
        table = Table(title=f"{title}: allowed, route {' → '.join(decision.route)}")
        for column in ("from", "to", "under", "marked on arrival"):
            table.add_column(column)
        for leg in decision.legs:
            table.add_row(leg.sender, leg.receiver, leg.under, leg.level)
        out.print(table)
        if decision.marking is not None:
            out.print(f"marking: {decision.marking.originator} {decision.marking.level}", markup=False)
        for note in decision.notes:
            out.print(f"not direct: {note.message} [{note.code}]", markup=False)
        return
    table = Table(title=f"{title}: refused")
    table.add_column("code")
    table.add_column("reason")
    for reason in decision.reasons:
        table.add_row(reason.code.value, reason.message)
    out.print(table)


def command(
    world: str = typer.Argument(..., help="A world file, or a bundled world such as gsomia-2019."),
    report: str = typer.Option(..., "--report", help="The id of a report of the world."),
    holder: str = typer.Option(..., "--holder", help="The party that holds the report."),
    to: str = typer.Option(..., "--to", help="The party it would go to."),
    at: str = typer.Option(..., "--at", help="The instant, RFC 3339 with an offset."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: allowed, route, legs, marking, reasons."),
) -> None:
    """Decide one transfer: allowed or not, by which route, marked how; or every reason why not."""
    moment = instant(at, "--at")
    loaded = open_world(world)
    item = loaded.reports.get(report)
    if item is None:
        fail(f"--report: no report {report!r} in {loaded.source} (reports: {', '.join(loaded.reports) or 'none'})")
    _check_party(loaded, holder, "--holder")
    _check_party(loaded, to, "--to")
    decision = decide(loaded, item, holder, to, moment)
    if as_json:
        print_json(decision.as_dict())
        return
    render(decision, f"{report}: {holder} → {to} at {at}")
