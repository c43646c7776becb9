"""`pactnet user`: cleared users of a node and their API tokens."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from pactnet.cli.terminal import node_at, out

app = typer.Typer(help="Users of a node: add, list, disable.", no_args_is_help=True)
FOLDER = typer.Argument(..., help="The node's folder.")


@app.command("add")
def add(
    folder: Path = FOLDER,
    name: str = typer.Argument(..., help="The user's name."),
    clearance: str = typer.Option(..., "--clearance", help="A level of this party's scheme."),
    compartment: list[str] = typer.Option([], "--compartment", help="A compartment the user holds (repeatable)."),
) -> None:
    """Create a user and print its API token, once; only its hash is stored."""
    from pactnet.services.users import add_user  # noqa: PLC0415

    with node_at(folder) as node:
        user, token = add_user(node, name, clearance, compartment)
    out.print(f"user {user.name} (clearance {user.clearance}) created; API token, shown only now:", markup=False)
    out.print(token, markup=False)


@app.command("list")
def list_(folder: Path = FOLDER) -> None:
    """List the users: name, clearance, compartments, disabled or not."""
    from pactnet.services.users import list_users  # noqa: PLC0415

    with node_at(folder) as node:
        found = list_users(node)
    table = Table(title=f"users of {folder}")
    for column in ("name", "clearance", "compartments", "state"):
        table.add_column(column)
    for user in found:
        table.add_row(
            user.name, user.clearance, ", ".join(sorted(user.compartments)), "disabled" if user.disabled else "active"
        )
    out.print(table)


@app.command("disable")
def disable(folder: Path = FOLDER, name: str = typer.Argument(..., help="The user to disable.")) -> None:
    """Disable a user: its token stops working at once."""
    from pactnet.services.users import disable_user  # noqa: PLC0415

    with node_at(folder) as node:
        disable_user(node, name)
    out.print(f"user {name} disabled", markup=False)
