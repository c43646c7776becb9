"""`pactnet node`: create a node's folder and serve its API."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from pactnet.cli.terminal import fail, out
from pactnet.errors import PactnetError

app = typer.Typer(help="Create and run a party's node.", no_args_is_help=True)


@app.command("init")
def init(
    folder: Path = typer.Argument(..., help="The node's folder (created)."),
    world: str = typer.Option(..., "--world", help="A world file, or a bundled world such as gsomia-2019."),
    party: str = typer.Option(..., "--party", help="The party this node speaks for."),
    database_url: str | None = typer.Option(
        None, "--database", help="postgresql://USER@HOST/DB (default: SQLite in the folder)."
    ),
) -> None:
    """Create a node: config file, keys (owner-only), and a migrated database with a started audit log."""
    from pactnet.node import init_node  # noqa: PLC0415 - keep `pactnet --help` fast

    try:
        config = init_node(folder, world, party, database_url)
    except PactnetError as error:
        fail(str(error))
    out.print(f"node for {config.party} created in {folder} (database {config.database_url()})", markup=False)


@app.command("serve")
def serve(
    folder: Path = typer.Argument(..., help="The node's folder."),
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default from node.toml)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (default from node.toml)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="API processes (for PostgreSQL, mostly)."),
) -> None:
    """Serve the node's API until interrupted."""
    import uvicorn  # noqa: PLC0415

    from pactnet.api.app import create_app  # noqa: PLC0415
    from pactnet.api.asgi import NODE_FOLDER  # noqa: PLC0415
    from pactnet.node import open_node  # noqa: PLC0415

    try:
        node = open_node(folder)
    except PactnetError as error:
        fail(f"the node cannot start: {error}")
    listen_host = host or node.config.host
    listen_port = node.config.port if port is None else port
    out.print(f"{node.party}'s node serving on http://{listen_host}:{listen_port}/api/v1 (stop with Ctrl-C)")
    # access_log off: request lines may carry ids; the audit log records what matters.
    if workers > 1:
        node.close()  # each worker opens the node itself
        os.environ[NODE_FOLDER] = str(folder.resolve())
        uvicorn.run(
            "pactnet.api.asgi:app_from_environment",
            factory=True,
            workers=workers,
            host=listen_host,
            port=listen_port,
            log_level="warning",
            access_log=False,
        )
        return
    try:
        uvicorn.run(create_app(node), host=listen_host, port=listen_port, log_level="warning", access_log=False)
    finally:
        node.close()
