"""The `pactnet remote` listings of notices (consent requests, consents, compromises): one command, built per kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pactnet.cli.remote_access import AS_JSON, Access, reaching_node, show_from
from pactnet.cli.terminal import NEWEST, Notices

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

    from pactnet.client import NodeClient


def add_listing(
    app: typer.Typer,
    name: str,
    summary: str,
    *,
    ask: Callable[[NodeClient, int], Notices],
    as_table: Callable[[Notices], None],
) -> None:
    """Add the command `name` to `app`: the newest notices `ask` reads at the node, as `as_table` shows them."""

    @app.command(name, help=summary)
    @reaching_node
    def listing(limit: int = NEWEST, as_json: bool = AS_JSON, *, access: Access) -> None:
        show_from(access, lambda node: ask(node, limit), as_json=as_json, as_text=as_table)
