"""`pactnet agreement`: the status of an agreement at an instant, and its timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from pactnet.cli.terminal import brief, fail, instant, open_world, out, print_json, show
from pactnet.policy.timeline import timeline as periods_of

if TYPE_CHECKING:
    from datetime import tzinfo

    from pactnet.policy.model import Agreement, Arrangement, World

app = typer.Typer(help="Agreements and arrangements: status and timeline.", no_args_is_help=True)

WORLD = typer.Argument(..., help="A world file, or a bundled world such as gsomia-2019.")
PACT = typer.Argument(..., help="The id of an agreement or arrangement.")


def _pact(world: World, pact_id: str) -> Agreement | Arrangement:
    pact = world.pact(pact_id)
    if pact is None:
        known = ", ".join([*world.agreements, *world.arrangements])
        fail(f"no agreement or arrangement {pact_id!r} in {world.source} (known: {known})")
    return pact


def _zone(pact: Agreement | Arrangement, fallback: tzinfo | None) -> tzinfo | None:
    """An agreement speaks in its own time zone; an arrangement, which has none, in the asker's."""
    return pact.zone if pact.kind == "agreement" else fallback


@app.command("status")
def status(
    world: str = WORLD,
    pact_id: str = PACT,
    at: str = typer.Option(..., "--at", help="The instant, RFC 3339 with an offset: 2019-11-23T00:00:00+09:00."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: agreement, at, state, notice, term_ends, ..."),
) -> None:
    """The state of an agreement at an instant: in force or not, its notice, its term end and its end.

    It reads the world file; `pactnet remote agreement status ID` asks a running node, counting its acts.
    """
    moment = instant(at, "--at")
    loaded = open_world(world)
    pact = _pact(loaded, pact_id)
    zone = _zone(pact, moment.tzinfo)
    data = pact.history.status(moment).as_dict(zone or moment.tzinfo)  # type: ignore[arg-type]  # aware
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{pact_id} at {data['at']}", show_header=False)
    for key in ("state", "notice", "term_ends", "ends_at", "ended_at"):
        table.add_row(key, data[key] or "—")
    out.print(table)


@app.command("timeline")
def timeline(
    world: str = WORLD,
    pact_id: str = PACT,
    until: str | None = typer.Option(
        None, "--until", help="Stop at this instant (default: a term after the last event)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the periods as JSON."),
) -> None:
    """The life of an agreement at a glance: each period, each renewal and term end, each notice, the end."""
    stop = instant(until, "--until") if until is not None else None
    loaded = open_world(world)
    pact = _pact(loaded, pact_id)
    zone = _zone(pact, stop.tzinfo if stop else None) or pact.zone
    periods = periods_of(pact, stop)
    if as_json:
        print_json(
            [
                {
                    "from": show(period.start, zone),
                    "until": None if period.stop is None else show(period.stop, zone),
                    "state": period.state.value,
                    "notice": period.notice.value,
                    "term_ends": None if period.term_ends is None else show(period.term_ends, zone),
                    "what": period.what,
                }
                for period in periods
            ]
        )
        return
    table = Table(title=f"{pact_id}: {pact.title}")
    for column in ("from", "until", "state", "notice", "term ends", "what happened"):
        table.add_column(column)
    for period in periods:
        table.add_row(
            brief(period.start, zone),
            brief(period.stop, zone),
            period.state.value,
            period.notice.value,
            brief(period.term_ends, zone),
            period.what,
        )
    out.print(table)
