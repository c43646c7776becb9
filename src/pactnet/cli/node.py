"""`pactnet node`: create a node's folder and serve its API."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pactnet.cli.terminal import AS_JSON, NodeFolder, UsageError, err, fail, out, print_json
from pactnet.errors import PactnetError
from pactnet.logs import FORMATS, note
from pactnet.logs import configure as configure_logs

if TYPE_CHECKING:
    from pactnet.crypto.tls import PartnerTls
    from pactnet.federation.partners import PartnerRegistry
    from pactnet.node import Node

app = typer.Typer(help="Create and run a party's node.", no_args_is_help=True)
log = logging.getLogger("pactnet.node")


@app.command("init")
def init(
    folder: Path = typer.Argument(..., help="The node's folder (created)."),
    world: str = typer.Option(..., "--world", help="A world file, or a bundled world such as gsomia-2019."),
    party: str = typer.Option(..., "--party", help="The party this node speaks for."),
    database_url: str | None = typer.Option(
        None, "--database", help="postgresql://USER@HOST/DB (default: SQLite in the folder)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Create a node: config file, keys (owner-only), and a migrated database with a started audit log."""
    from pactnet.node import init_node  # noqa: PLC0415 - keep `pactnet --help` fast
    from pactnet.store.database import shown_url  # noqa: PLC0415

    try:
        config = init_node(folder, world, party, database_url)
    except PactnetError as error:
        fail(str(error))
    database = shown_url(config.database_url())
    if as_json:
        print_json({"party": config.party, "folder": str(folder), "world": config.world, "database": database})
        return
    out.print(f"node for {config.party} created in {folder} (database {database})", markup=False)


@app.command("migrate")
def migrate(folder: NodeFolder, as_json: bool = AS_JSON) -> None:
    """Bring the node's database to the schema this version of pactnet needs (after an upgrade)."""
    from pactnet.node import migrate_node  # noqa: PLC0415 - keep `pactnet --help` fast

    try:
        before, after = migrate_node(folder)
    except PactnetError as error:
        fail(str(error))
    if as_json:
        print_json({"from": before, "to": after, "migrated": before != after})
        return
    if before == after:
        out.print(f"the database of {folder} is at schema revision {after} already", markup=False)
        return
    out.print(f"the database of {folder} migrated from schema revision {before} to {after}", markup=False)


@app.command("serve")
def serve(
    folder: NodeFolder,
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default from node.toml)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (default from node.toml)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="API processes (for PostgreSQL, mostly)."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="Serve HTTPS with this PEM certificate (chain)."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="The certificate's PEM private key."),
    allow_plain_http: bool = typer.Option(
        False, "--allow-plain-http", help="Serve plain HTTP on a non-loopback address (behind a TLS proxy)."
    ),
    log_format: str = typer.Option(
        "text", "--log-format", help="The operator's log on standard error: text, or json (one object a line)."
    ),
    scenario_clock: Path | None = typer.Option(None, "--scenario-clock", hidden=True, help="Demo only."),
) -> None:
    """Serve the node's API, and send its outbox to partner nodes, until interrupted."""
    from pactnet.node import listening_url, open_node, system_clock  # noqa: PLC0415
    from pactnet.scenario import ScenarioClock  # noqa: PLC0415

    if scenario_clock is not None and workers > 1:
        fail("--scenario-clock is for the demo's single-process nodes")
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together: give both to serve HTTPS")
    if log_format not in FORMATS:
        fail(f"--log-format: expected text or json, found {log_format!r}")
    configure_logs("json" if log_format == "json" else "text")
    clock = system_clock if scenario_clock is None else ScenarioClock(scenario_clock)
    try:
        clock()  # a scenario clock's file is read now, so that a bad one stops the start with its reason
        node = open_node(folder, clock)
    except PactnetError as error:
        fail(f"the node cannot start: {error}")
    listen_host = host or node.config.host
    listen_port = node.config.port if port is None else port
    flags = None if tls_cert is None or tls_key is None else (tls_cert, tls_key)
    try:
        transport = _transport(flags or node.config.tls_files(), listen_host, allow_plain_http=allow_plain_http)
    except PactnetError as error:
        node.close()
        fail(f"the node cannot start: {error}")
    url = listening_url(listen_host, listen_port, tls=transport["ssl_certfile"] is not None)
    try:
        _run(node, folder, url, {"host": listen_host, "port": listen_port} | transport, workers)
    except PactnetError as error:
        fail(f"the node cannot start: {error}")


def _run(node: Node, folder: Path, url: str, settings: dict[str, Any], workers: int) -> None:
    """Serve until interrupted, holding the folder's serving lock; the node is closed whatever happens."""
    import uvicorn  # noqa: PLC0415

    from pactnet.api.app import create_app  # noqa: PLC0415
    from pactnet.api.asgi import NODE_FOLDER  # noqa: PLC0415
    from pactnet.api.collector import settle_for_serving  # noqa: PLC0415
    from pactnet.api.events import SHUTDOWN_GRACE_SECONDS  # noqa: PLC0415
    from pactnet.api.serving import server_settings  # noqa: PLC0415
    from pactnet.serving import serving  # noqa: PLC0415

    settings = settings | {"timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS}  # open event streams end then
    try:
        _check_port_free(settings["host"], settings["port"])
        # Slow clients bounded, no access log (request lines may carry ids; the audit log records what matters).
        settings |= server_settings(node.config.request_timeout_ms)
        with serving(folder, url if settings["port"] else None):
            out.print(f"{node.party}'s node serving on {url}/api/v1 (stop with Ctrl-C)", markup=False)
            tls = settings.get("ssl_certfile") is not None
            note(log, "node-started", party=node.party, url=url, workers=workers, tls=tls)
            if workers > 1:
                node.close()  # each worker opens the node itself
                os.environ[NODE_FOLDER] = str(folder.resolve())
                uvicorn.run("pactnet.api.asgi:app_from_environment", factory=True, workers=workers, **settings)
                return
            app = create_app(node, dispatch=True)
            settle_for_serving()
            uvicorn.run(app, **settings)
    finally:
        node.close()


def _check_port_free(host: str, port: int) -> None:
    """Refuse, in one line, an address another process listens on (uvicorn would log and exit 1)."""
    import errno  # noqa: PLC0415
    import socket  # noqa: PLC0415

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                message = (
                    f"{host}:{port}: address already in use by another process; stop it, or serve on another --port"
                )
                raise PortInUseError(message) from error
            raise PortInUseError(f"cannot listen on {host}:{port}: {error.strerror}") from error


class PortInUseError(PactnetError):
    """The address `node serve` would listen on cannot be had."""


def _transport(files: tuple[Path, Path] | None, host: str, *, allow_plain_http: bool) -> dict[str, str | None]:
    """Uvicorn's TLS settings for the certificate and key; plain HTTP only on loopback, or when the operator says.

    Bearer tokens authenticate every user request: on any other address they would cross the network in clear.
    """
    from pactnet.crypto.tls import TlsError, check_server_files, is_loopback  # noqa: PLC0415

    if files is None:
        if is_loopback(host) or allow_plain_http:
            return {"ssl_certfile": None, "ssl_keyfile": None}
        raise TlsError(
            f"it would serve plain HTTP on {host}, where API tokens would travel in clear text: serve HTTPS with "
            "--tls-cert FILE --tls-key FILE (or tls_cert and tls_key in node.toml), or, if a proxy in front of "
            "the node terminates TLS, say --allow-plain-http"
        )
    certificate, key = files
    check_server_files(certificate, key)
    return {"ssl_certfile": str(certificate), "ssl_keyfile": str(key)}


@app.command("identity")
def identity(
    folder: NodeFolder,
    url: str | None = typer.Option(
        None, "--url", help="The URL partners reach this node at (default: where node serve last served it)."
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
    folder: NodeFolder,
    document_files: list[Path] = typer.Argument(
        ..., help="Partners' identity documents, or key rotation statements (several at once)."
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (the fingerprints were checked)."),
    tls_ca: Path | None = typer.Option(
        None, "--tls-ca", help="Verify these partners' https:// URLs with this CA file."
    ),
    tls_pin: Path | None = typer.Option(
        None, "--tls-pin", help="Verify these partners' https:// URLs against this one PEM certificate (pinned)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Add or update partners from their identity documents, or accept key rotations, after showing fingerprints.

    Nothing is written unless every file is valid and every partner confirmed.
    """
    from pactnet.federation.partners import save_partners  # noqa: PLC0415
    from pactnet.node import partner_registry  # noqa: PLC0415

    if tls_ca is not None and tls_pin is not None:
        fail("--tls-ca and --tls-pin: name one way to verify a partner's certificate, not both")
    try:
        registry = partner_registry(folder)
        tls = _partner_tls(tls_ca, tls_pin)
    except PactnetError as error:
        fail(str(error))
    trusted: list[str] = []
    for document_file in document_files:
        try:
            summary, question, registry = _trust_one(registry, document_file, tls)
        except PactnetError as error:
            fail(f"{document_file}: {error}")
        shown = err if as_json else out  # with --json, standard output holds the JSON alone
        for label, value in summary:
            shown.print(f"{label + ':':<13}{value}")
        if not yes and not typer.confirm(question, default=False):
            err.print("not trusted: partners.toml is unchanged")
            raise typer.Exit(1)
        trusted.append(summary[0][1])
    try:
        save_partners(folder, registry)
    except OSError as error:
        fail(f"cannot write {folder / 'partners.toml'}: {error.strerror}")
    if as_json:
        partners = [registry.partners[party] for party in trusted]
        print_json([{"party": one.party, "url": one.url, "fingerprint": one.fingerprint} for one in partners])
        return
    out.print(f"{', '.join(trusted)} trusted: {folder / 'partners.toml'} updated")


def _partner_tls(ca_file: Path | None, pin: Path | None) -> PartnerTls | None:
    """How to verify the partners' certificates, from `--tls-ca` or `--tls-pin`; None: leave it as it is."""
    from pactnet.crypto.tls import PartnerTls, check_ca_file, read_certificate  # noqa: PLC0415

    if ca_file is not None:
        check_ca_file(ca_file.resolve())
        return PartnerTls(ca_file=ca_file.resolve())
    if pin is not None:
        return PartnerTls(pinned_certificate=read_certificate(pin))
    return None


def _trust_one(
    registry: PartnerRegistry, document_file: Path, tls: PartnerTls | None
) -> tuple[list[tuple[str, str]], str, PartnerRegistry]:
    """What to show, what to ask and the registry after trusting one identity document or rotation statement."""
    from pactnet.crypto.identity import IDENTITY_FORMAT, document_format, parse_document, verify_identity  # noqa: PLC0415

    document = parse_document(_read(document_file))
    if document_format(document) != IDENTITY_FORMAT:
        rotation, updated = registry.accept_rotation(document)
        summary = [
            ("partner", rotation.party),
            ("retires", rotation.old_fingerprint),
            ("fingerprint", rotation.fingerprint),
            ("rotated at", rotation.rotated_at.isoformat()),
        ]
        return summary, f"Accept {rotation.party}'s new key with this fingerprint?", updated
    partner = verify_identity(document)
    known = registry.get(partner.party)
    updated = registry.trust(partner)
    if tls is not None:
        updated = updated.with_tls(partner.party, tls)
    summary = [
        ("partner", partner.party),
        ("url", partner.url if known is None or known.url == partner.url else f"{known.url} → {partner.url}"),
        ("fingerprint", partner.fingerprint),
    ]
    return summary, f"{'Update' if known else 'Trust'} {partner.party}'s node with this fingerprint?", updated


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


@app.command("rotations")
def rotations(
    folder: NodeFolder,
    write: Path | None = typer.Option(
        None, "--write", help="Write each statement to this folder as rotation-N.json, for partners that missed it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the statements as a JSON array."),
) -> None:
    """The node's key rotations, oldest first, with their statements kept since `rotate-key` printed them."""
    from pactnet.node import rotation_statements  # noqa: PLC0415

    try:
        statements = rotation_statements(folder)
    except PactnetError as error:
        fail(str(error))
    if as_json:
        print_json(statements)
    else:
        for number, statement in enumerate(statements, start=1):
            retired, new, at = statement["old_fingerprint"], statement["fingerprint"], statement["rotated_at"]
            out.print(f"{number}. {at}: {retired} → {new}", markup=False)
        if not statements:
            out.print(f"{folder}: no key rotation yet", markup=False)
    if write is not None:
        try:
            write.mkdir(parents=True, exist_ok=True)
            for number, statement in enumerate(statements, start=1):
                text = json.dumps(statement, ensure_ascii=False, indent=2) + "\n"
                (write / f"rotation-{number}.json").write_text(text, encoding="utf-8")
        except OSError as error:
            fail(f"cannot write to {write}: {error.strerror}")
        err.print(f"{len(statements)} statements written to {write}", markup=False)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read the file: {reason}") from error
