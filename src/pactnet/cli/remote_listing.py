"""The `pactnet remote` listings of notices (consent requests, consents, compromises): one command, built per kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pactnet.cli.remote_access import AS_JSON, Access, connected, reaching_node
from pactnet.cli.remote_tables import shown
from pactnet.cli.terminal import NEWEST

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

    from pactnet.client import NodeClient

Found = list[dict[str, Any]]


def add_listing(
    app: typer.Typer,
    name: str,
    summary: str,
    *,
    ask: Callable[[NodeClient, int], Found],
    as_table: Callable[[Found], None],
) -> None:
    """Add the command `name` to `app`: the newest notices `ask` reads at the node, as `as_table` shows them."""

    @app.command(name, help=summary)
    @reaching_node
    def listing(limit: int = NEWEST, as_json: bool = AS_JSON, *, access: Access) -> None:
        with connected(access) as node:
            found = ask(node, limit)
        shown(found, as_json=as_json, as_table=as_table)
