"""`pactnet world`: check a world file."""

from __future__ import annotations

import typer

from pactnet.cli.terminal import EXIT_BAD_INPUT, out, world_issues
from pactnet.errors import WorldError
from pactnet.world import load_world

app = typer.Typer(help="Check world files.", no_args_is_help=True)


@app.command("check")
def check(
    world: str = typer.Argument(..., help="A world file, or a bundled world: gsomia-2019, gsomia-2019-no-suspension."),
) -> None:
    """Validate a world: exit 0 with a one-line summary, or 2 with every error (path, found, expected)."""
    try:
        loaded = load_world(world)
    except WorldError as error:
        out.print(f"{error}:", markup=False)
        for line in world_issues(error):
            out.print(f"  {line}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from error
    out.print(
        f"{world}: valid: {len(loaded.parties)} parties, {len(loaded.agreements)} agreements, "
        f"{len(loaded.arrangements)} arrangements, {len(loaded.events)} events, {len(loaded.reports)} reports",
        markup=False,
    )
