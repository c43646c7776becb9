"""`pactnet user`: cleared users of a node, their roles and their API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from pactnet.cli.terminal import AS_JSON, NodeFolder, node_at, out, print_json
from pactnet.services.roles import DEFAULT_ROLES, Role

if TYPE_CHECKING:
    from pactnet.services.users import User

app = typer.Typer(help="Users of a node: add, list, disable.", no_args_is_help=True)
ROLES = ", ".join(Role)


def _as_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "clearance": user.clearance,
        "compartments": sorted(user.compartments),
        "roles": sorted(user.roles),
        "disabled": user.disabled,
    }


@app.command("add")
def add(
    folder: NodeFolder,
    name: str = typer.Argument(..., help="The user's name."),
    clearance: str = typer.Option(..., "--clearance", help="A level of this party's scheme."),
    compartment: list[str] = typer.Option([], "--compartment", help="A compartment the user holds (repeatable)."),
    role: list[str] = typer.Option(
        sorted(DEFAULT_ROLES), "--role", help=f"A role (repeatable): {ROLES}. Default: analyst."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Create a user with its roles and print its API token, once; only its hash is stored."""
    from pactnet.services.users import add_user  # noqa: PLC0415

    with node_at(folder) as node:
        user, token = add_user(node, name, clearance, compartment, roles=role)
    if as_json:
        print_json(_as_json(user) | {"token": token})
        return
    roles = ", ".join(sorted(user.roles))
    out.print(
        f"user {user.name} (clearance {user.clearance}; roles {roles}) created; API token, shown only now:",
        markup=False,
    )
    out.print(token, markup=False)


@app.command("list")
def list_(folder: NodeFolder, as_json: bool = AS_JSON) -> None:
    """List the users: name, clearance, compartments, roles, disabled or not."""
    from pactnet.services.users import list_users  # noqa: PLC0415

    with node_at(folder) as node:
        found = list_users(node)
    if as_json:
        print_json([_as_json(user) for user in found])
        return
    table = Table(title=f"users of {folder}")
    for column in ("name", "clearance", "compartments", "roles", "state"):
        table.add_column(column)
    for user in found:
        table.add_row(
            user.name,
            user.clearance,
            ", ".join(sorted(user.compartments)),
            ", ".join(sorted(user.roles)),
            "disabled" if user.disabled else "active",
        )
    out.print(table)


@app.command("disable")
def disable(
    folder: NodeFolder, name: str = typer.Argument(..., help="The user to disable."), as_json: bool = AS_JSON
) -> None:
    """Disable a user: its token stops working at once."""
    from pactnet.services.users import disable_user  # noqa: PLC0415

    with node_at(folder) as node:
        disable_user(node, name)
    if as_json:
        print_json({"name": name, "disabled": True})
        return
    out.print(f"user {name} disabled", markup=False)
