"""`pactnet node`: create a node's folder and serve its API."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from pactnet.cli.terminal import UsageError, err, fail, out, print_json
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
    from pactnet.store.database import shown_url  # noqa: PLC0415

    try:
        config = init_node(folder, world, party, database_url)
    except PactnetError as error:
        fail(str(error))
    out.print(
        f"node for {config.party} created in {folder} (database {shown_url(config.database_url())})", markup=False
    )


@app.command("serve")
def serve(
    folder: Path = typer.Argument(..., help="The node's folder."),
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default from node.toml)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (default from node.toml)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="API processes (for PostgreSQL, mostly)."),
    scenario_clock: Path | None = typer.Option(None, "--scenario-clock", hidden=True, help="Demo only."),
) -> None:
    """Serve the node's API, and send its outbox to partner nodes, until interrupted."""
    import uvicorn  # noqa: PLC0415

    from pactnet.api.app import create_app  # noqa: PLC0415
    from pactnet.api.asgi import NODE_FOLDER  # noqa: PLC0415
    from pactnet.api.serving import server_settings  # noqa: PLC0415
    from pactnet.node import open_node, system_clock  # noqa: PLC0415
    from pactnet.scenario import ScenarioClock  # noqa: PLC0415

    if scenario_clock is not None and workers > 1:
        fail("--scenario-clock is for the demo's single-process nodes")
    clock = system_clock if scenario_clock is None else ScenarioClock(scenario_clock)
    try:
        clock()  # a scenario clock's file is read now, so that a bad one stops the start with its reason
        node = open_node(folder, clock)
    except PactnetError as error:
        fail(f"the node cannot start: {error}")
    listen_host = host or node.config.host
    listen_port = node.config.port if port is None else port
    out.print(f"{node.party}'s node serving on http://{listen_host}:{listen_port}/api/v1 (stop with Ctrl-C)")
    settings = server_settings(node.config.request_timeout_ms)  # slow clients bounded; no access log
    if workers > 1:
        node.close()  # each worker opens the node itself
        os.environ[NODE_FOLDER] = str(folder.resolve())
        uvicorn.run(
            "pactnet.api.asgi:app_from_environment",
            factory=True,
            workers=workers,
            host=listen_host,
            port=listen_port,
            **settings,
        )
        return
    from pactnet.api.collector import settle_for_serving  # noqa: PLC0415

    try:
        app = create_app(node, dispatch=True)
        settle_for_serving()
        uvicorn.run(app, host=listen_host, port=listen_port, **settings)
    finally:
        node.close()


@app.command("identity")
def identity(
    folder: Path = typer.Argument(..., help="The node's folder."),
    url: str | None = typer.Option(
        None, "--url", help="The URL partners reach this node at (default: http://HOST:PORT from node.toml)."
    ),
) -> None:
    """Print this node's public identity document (JSON): party, URL, public keys, fingerprint, self-signed."""
    from pactnet.node import identity_document, system_clock  # noqa: PLC0415

    try:
        document = identity_document(folder, url, system_clock())
    except PactnetError as error:
        fail(str(error))
    print_json(document)


@app.command("trust")
def trust(
    folder: Path = typer.Argument(..., help="The node's folder."),
    document_file: Path = typer.Argument(..., help="A partner's identity document, or its key rotation statement."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (the fingerprint was checked)."),
) -> None:
    """Add or update a partner from its identity document, or accept its key rotation, after showing its fingerprint."""
    from pactnet.crypto.identity import IDENTITY_FORMAT, document_format, parse_document, verify_identity  # noqa: PLC0415
    from pactnet.federation.partners import save_partners  # noqa: PLC0415
    from pactnet.node import partner_registry  # noqa: PLC0415

    try:
        registry = partner_registry(folder)
    except PactnetError as error:
        fail(str(error))
    try:
        document = parse_document(_read(document_file))
        if document_format(document) == IDENTITY_FORMAT:
            partner = verify_identity(document)
            known = registry.get(partner.party)
            updated = registry.trust(partner)
            summary = [
                ("partner", partner.party),
                ("url", partner.url if known is None or known.url == partner.url else f"{known.url} → {partner.url}"),
                ("fingerprint", partner.fingerprint),
            ]
            question = f"{'Update' if known else 'Trust'} {partner.party}'s node with this fingerprint?"
        else:
            rotation, updated = registry.accept_rotation(document)
            summary = [
                ("partner", rotation.party),
                ("retires", rotation.old_fingerprint),
                ("fingerprint", rotation.fingerprint),
                ("rotated at", rotation.rotated_at.isoformat()),
            ]
            question = f"Accept {rotation.party}'s new key with this fingerprint?"
    except PactnetError as error:
        fail(f"{document_file}: {error}")
    for label, value in summary:
        out.print(f"{label + ':':<13}{value}")
    if not yes and not typer.confirm(question, default=False):
        err.print("not trusted: partners.toml is unchanged")
        raise typer.Exit(1)
    try:
        save_partners(folder, updated)
    except OSError as error:
        fail(f"cannot write {folder / 'partners.toml'}: {error.strerror}")
    out.print(f"{summary[0][1]} trusted: {folder / 'partners.toml'} updated")


@app.command("rotate-key")
def rotate_key(folder: Path = typer.Argument(..., help="The node's folder (the node stopped).")) -> None:
    """Replace the node's keys and print the rotation statement (JSON), signed by the old key, for its partners."""
    from pactnet.node import rotate_node_keys  # noqa: PLC0415

    try:
        statement = rotate_node_keys(folder)
    except PactnetError as error:
        fail(str(error))
    print_json(statement)
    err.print(
        f"new key {statement['fingerprint']} (retired {statement['old_fingerprint']}); send this statement to every "
        "partner (pactnet node trust DIR FILE) and restart the node"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read the file: {reason}") from error
