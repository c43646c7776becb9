"""`pactnet world`: check a world file, and show what it holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from pactnet.cli.terminal import AS_JSON, EXIT_BAD_INPUT, instant, open_world, out, print_json, world_issues
from pactnet.errors import WorldError
from pactnet.policy.model import Agreement, Arrangement
from pactnet.world import load_world

if TYPE_CHECKING:
    from pactnet.policy.model import World

app = typer.Typer(help="World files: check them, show what they hold.", no_args_is_help=True)
WORLD = typer.Argument(..., help="A world file, or a bundled world: gsomia-2019, gsomia-2019-no-suspension.")


@app.command("check")
def check(world: str = WORLD, as_json: bool = AS_JSON) -> None:
    """Validate a world: exit 0 with a one-line summary, or 2 with every error (path, found, expected)."""
    try:
        loaded = load_world(world)
    except WorldError as error:
        if as_json:
            issues = [{"path": one.path, "found": one.found, "expected": one.expected} for one in error.issues]
            print_json({"valid": False, "error": str(error), "issues": issues})
        else:
            out.print(f"{error}:", markup=False)
            for line in world_issues(error):
                out.print(f"  {line}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from error
    counts = {
        "parties": len(loaded.parties),
        "agreements": len(loaded.agreements),
        "arrangements": len(loaded.arrangements),
        "events": len(loaded.events),
        "reports": len(loaded.reports),
    }
    if as_json:
        print_json({"valid": True} | counts)
        return
    out.print(f"{world}: valid: " + ", ".join(f"{number} {what}" for what, number in counts.items()), markup=False)


def _pact(pact: Agreement | Arrangement, at: datetime) -> dict[str, Any]:
    # An agreement speaks in its own time zone; an arrangement, which has none, in the asker's.
    if isinstance(pact, Arrangement):
        shown = {"parties": [pact.hub, *pact.members], "hub": pact.hub}
        status = pact.history.status(at).as_dict(at.tzinfo or UTC)
    else:
        shown = {"parties": list(pact.parties)}
        status = pact.history.status(at).as_dict(pact.zone)
    kept = {key: status[key] for key in ("state", "notice", "term_ends", "ends_at", "ended_at")}
    return {"id": pact.id, "kind": pact.kind, "title": pact.title} | shown | kept


def describe(world: World, at: datetime) -> dict[str, Any]:
    """What a user needs to know of a world before working in it: its parties and their levels, its pacts now."""
    parties = [
        {
            "code": party.code,
            "name": party.name,
            "levels": [
                {"level": level, "aliases": sorted(alias for alias, of in party.aliases.items() if of == level)}
                for level in party.levels
            ],
        }
        for party in world.parties.values()
    ]
    pacts: list[Agreement | Arrangement] = [*world.agreements.values(), *world.arrangements.values()]
    return {"at": at.isoformat(), "parties": parties, "agreements": [_pact(pact, at) for pact in pacts]}


@app.command("show")
def show(
    world: str = WORLD,
    at: str | None = typer.Option(None, "--at", help="The instant for the states (default: now), RFC 3339."),
    as_json: bool = AS_JSON,
) -> None:
    """The world's parties with their levels (lowest first) and aliases, and each agreement's state now."""
    moment = datetime.now(UTC) if at is None else instant(at, "--at")
    shown = describe(open_world(world), moment)
    if as_json:
        print_json(shown)
        return
    parties = Table(title=f"parties of {world}")
    for column in ("code", "name", "levels, lowest first (aliases)"):
        parties.add_column(column)
    for party in shown["parties"]:
        levels = [
            level["level"] + (f" ({', '.join(level['aliases'])})" if level["aliases"] else "")
            for level in party["levels"]
        ]
        parties.add_row(party["code"], party["name"], " < ".join(levels))
    out.print(parties)
    pacts = Table(title=f"agreements and arrangements at {shown['at']}")
    for column in ("id", "between", "state", "notice", "ends at"):
        pacts.add_column(column)
    for pact in shown["agreements"]:
        pacts.add_row(pact["id"], ", ".join(pact["parties"]), pact["state"], pact["notice"], pact["ends_at"] or "—")
    out.print(pacts)
