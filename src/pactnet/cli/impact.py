"""`pactnet impact`: what breaks if an agreement ends at an instant."""

from __future__ import annotations

import typer
from rich.table import Table

from pactnet.cli.terminal import fail, instant, open_world, out, print_json
from pactnet.policy.impact import Impact, RouteKind, impact


def render(result: Impact, *, everything: bool = False) -> None:
    """The routes that change, the report flows, and the counts before and after."""
    changed = [pair for pair in result.pairs if pair.changed or everything]
    table = Table(title=f"If {result.pact} ends at {result.at.isoformat()}: routes by category")
    for column in ("from", "to", "category", "before", "after"):
        table.add_column(column)
    for pair in changed:
        style = "red" if pair.after.kind is RouteKind.NONE else ("yellow" if pair.changed else "")
        table.add_row(pair.sender, pair.receiver, pair.category, str(pair.before), str(pair.after), style=style)
    if changed:
        out.print(table)
    else:
        out.print("No route between any two parties changes.", markup=False)
    unchanged = len(result.pairs) - sum(pair.changed for pair in result.pairs)
    out.print(f"({unchanged} of {len(result.pairs)} pair-category routes unchanged)", markup=False)
    flows = Table(title="Reports, from their originators")
    for column in ("report", "to", "before", "after", "why not, after"):
        flows.add_column(column)
    for flow in result.flows:
        flows.add_row(flow.report, flow.recipient, str(flow.before), str(flow.after), "; ".join(flow.why_not))
    out.print(flows)
    before, after = result.counts(after=False), result.counts(after=True)
    summary = Table(title="Report flows (report × recipient)")
    for column in ("", "directly", "only through a hub", "not at all"):
        summary.add_column(column)
    summary.add_row("before", str(before["direct"]), str(before["hub"]), str(before["none"]))
    summary.add_row("after", str(after["direct"]), str(after["hub"]), str(after["none"]))
    out.print(summary)


def command(
    world: str = typer.Argument(..., help="A world file, or a bundled world such as gsomia-2019."),
    end: str = typer.Option(..., "--end", help="The agreement (or arrangement) that would end."),
    at: str = typer.Option(..., "--at", help="When it would end, RFC 3339 with an offset."),
    everything: bool = typer.Option(False, "--all", help="List every pair and category, not only those that change."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: pairs, reports and counts."),
) -> None:
    """What breaks if an agreement ends: the best route per pair and category, and every report flow."""
    moment = instant(at, "--at")
    loaded = open_world(world)
    if loaded.pact(end) is None:
        known = ", ".join([*loaded.agreements, *loaded.arrangements])
        fail(f"--end: no agreement or arrangement {end!r} in {loaded.source} (known: {known})")
    result = impact(loaded, end, moment)
    if as_json:
        print_json(result.as_dict())
        return
    render(result, everything=everything)
