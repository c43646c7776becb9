"""The composition root: a node built from its folder — config, keys, world, database, audit log, clock."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import tomllib
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pactnet.audit.chain import KEY_ROTATED, AuditRecord
from pactnet.audit.trust import RETIRED_KEYS_FILE
from pactnet.config import CONFIG_FILE, ConfigError, NodeConfig, load_config
from pactnet.crypto.identity import build_identity, build_rotation
from pactnet.crypto.keys import ENCRYPTION_KEY_FILE, SIGNING_KEY_FILE, NodeKeys, b64, fingerprint
from pactnet.errors import PactnetError, WorldError
from pactnet.federation.partners import PartnerRegistry, load_partners
from pactnet.federation.tomlfile import toml_string, write_atomically
from pactnet.logs import note
from pactnet.services.context import Node, system_clock
from pactnet.services.world_cache import WorldCache
from pactnet.serving import served_url, stopped
from pactnet.store import database
from pactnet.store.audit_log import SqlAuditLog
from pactnet.store.instants import instant_text
from pactnet.store.tables import audit_entries
from pactnet.store.unit_of_work import UnitOfWork
from pactnet.world import BUNDLED, load_document, read_document

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.policy.model import World

__all__ = [
    "RETIRED_KEYS_FILE",
    "Node",
    "NodeError",
    "default_url",
    "identity_document",
    "init_node",
    "listening_url",
    "open_node",
    "partner_registry",
    "rotate_node_keys",
    "rotation_statements",
    "system_clock",
]

log = logging.getLogger(__name__)


class NodeError(PactnetError):
    """A node cannot be created or started; the message says what to do."""


def _world(config: NodeConfig) -> tuple[dict[str, Any], World]:
    try:
        document, source = load_document(config.world_reference())
        world = read_document(document, source)
    except WorldError as error:
        lines = "\n  ".join(str(issue) for issue in error.issues)
        raise NodeError(f"the node's world does not validate: {error}\n  {lines}") from error
    if config.party not in world.parties:
        raise NodeError(f"party {config.party!r} is not in the world {source} ({', '.join(world.parties)})")
    return document, world


def init_node(folder: Path, world: str, party: str, database_url: str | None) -> NodeConfig:
    """Create a node's folder: config, keys (owner-only) and a migrated database with a started audit log.

    Everything is checked before anything is written; a failure on the way removes what this call made.
    """
    if (folder / CONFIG_FILE).exists():
        raise NodeError(f"{folder} is already a node folder (it has {CONFIG_FILE}); choose another folder")
    if folder.exists() and not folder.is_dir():
        raise NodeError(f"{folder} is a file, not a folder: choose a folder for the node")
    reference = world if world in BUNDLED else str(Path(world).resolve())
    config = NodeConfig(party=party, world=reference, database=database_url or "", folder=folder)
    _world(config)
    database.normalise_url(config.database_url())
    made: list[Path] = []
    try:
        _make_folder(folder, made)
        embedded = not config.database
        if embedded:
            _make_private_file(folder / "node.db", made)
        _start_database(config, folder, made)
        write_atomically(folder / CONFIG_FILE, config.to_toml())  # 0600: it may hold the database's password
        made.append(folder / CONFIG_FILE)
    except BaseException:
        for path in reversed(made):
            _remove(path)
        raise
    return config


def _make_folder(folder: Path, made: list[Path]) -> None:
    missing = [parent for parent in [folder, *folder.parents] if not parent.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NodeError(f"cannot create the folder {folder}: {error.strerror}") from error
    made.extend(reversed(missing))
    folder.chmod(0o700)


def _make_private_file(path: Path, made: list[Path]) -> None:
    """An empty file only the owner can read; SQLite gives its journal files the same mode."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    made += [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _start_database(config: NodeConfig, folder: Path, made: list[Path]) -> None:
    engine = database.create(config.database_url())
    try:
        if database.current_revision(engine) is not None:
            raise NodeError("the database already holds a pactnet schema; give the node a database of its own")
        database.migrate(engine)
        keys = NodeKeys.generate()
        made += [folder / SIGNING_KEY_FILE, folder / ENCRYPTION_KEY_FILE]
        keys.save(folder)
        with engine.begin() as connection:
            log = SqlAuditLog(keys, config.checkpoint_every)
            now = instant_text(system_clock())
            log.start(connection, now)
            log.append(connection, now, [AuditRecord("node-created", "cli", config.party, _settings(config))])
    finally:
        engine.dispose()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def open_node(folder: Path, clock: Callable[[], datetime] = system_clock, *, record_settings: bool = True) -> Node:
    """Build a node from its folder; refuses with a clear NodeError on anything that is not right.

    `record_settings=False` opens it without recording a change of its settings in the audit log: verifying
    the log must not write to it.
    """
    config = _config(folder)
    keys = NodeKeys.load(folder)
    document, world = _world(config)
    engine = database.create(config.database_url(), pool_size=config.pool_size)
    worlds = WorldCache(document, world)
    try:
        database.check_schema(engine)
        with engine.connect() as connection:
            worlds.load(connection)
    except WorldError as error:
        engine.dispose()
        raise NodeError(f"the lifecycle acts recorded in the database no longer fit the world: {error}") from error
    except PactnetError:
        engine.dispose()
        raise
    worlds.watch(engine)
    partners = partial(load_partners, folder, config.party, world.parties)
    node = Node(config, keys, SqlAuditLog(keys, config.checkpoint_every), worlds, UnitOfWork(engine), partners, clock)
    if record_settings:
        _audit_configuration(node)
    return node


def migrate_node(folder: Path) -> tuple[str, str]:
    """Bring a node's database to the schema this pactnet needs (after an upgrade): the revisions before, after."""
    config = _config(folder)
    engine = database.create(config.database_url(), pool_size=1)
    try:
        before = database.current_revision(engine)
        if before is None:
            raise NodeError("the database has no pactnet schema: create the node with `pactnet node init`")
        database.migrate(engine)
        return before, database.head_revision()
    finally:
        engine.dispose()


# The settings that matter to what a node decides and records (not where it listens): the audit log records
# them when the node is created and again whenever one of them changes.
_AUDITED_SETTINGS = ("party", "world", "checkpoint_every", "max_body_bytes", "max_page_size")


def _settings(config: NodeConfig) -> dict[str, Any]:
    """The audited settings of `config`, by name."""
    return {name: getattr(config, name) for name in _AUDITED_SETTINGS}


_LAST_SETTINGS = (
    select(audit_entries.c.data)
    .where(audit_entries.c.kind.in_(("node-created", "config-changed")))
    .order_by(audit_entries.c.seq.desc())
    .limit(1)
)


def _audit_configuration(node: Node) -> None:
    """Record a configuration change: the settings differ from those the log last recorded.

    Read first without the writer's lock (every CLI command opens the node); write only on a change.
    """
    settings = _settings(node.config)

    def recorded(connection: Connection) -> bool:
        row = connection.execute(_LAST_SETTINGS).first()
        return row is not None and json.loads(row.data) == settings

    with node.uow.read() as connection:
        if recorded(connection):
            return
    with node.uow.transaction() as connection:
        if not recorded(connection):  # another process may have recorded it meanwhile
            node.audit.append(
                connection, instant_text(node.now()), [AuditRecord("config-changed", "node", node.party, settings)]
            )


def _config(folder: Path) -> NodeConfig:
    try:
        return load_config(folder)
    except ConfigError as error:
        raise NodeError(str(error)) from error


def default_url(config: NodeConfig) -> str:
    """Where the node's API is reached when nothing else is said.

    That is where `node serve` last served it, else its `host` and `port`, over https when it has a certificate.
    """
    noted = served_url(config.folder)
    if noted is not None:
        return noted
    return listening_url(config.host, config.port, tls=config.tls_files() is not None)


def listening_url(host: str, port: int, *, tls: bool) -> str:
    """The URL of a node listening on `host` and `port`."""
    bracketed = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{bracketed}:{port}"


def identity_document(folder: Path, url: str | None, at: datetime) -> dict[str, Any]:
    """This node's public identity document, issued at `at`, for its partners to trust."""
    config = _config(folder)
    return build_identity(NodeKeys.load(folder), config.party, url or default_url(config), at)


def partner_registry(folder: Path) -> PartnerRegistry:
    """The node's partner registry (`partners.toml`), checked against the parties of its world."""
    config = _config(folder)
    _, world = _world(config)
    return load_partners(folder, config.party, world.parties)


def rotate_node_keys(folder: Path, clock: Callable[[], datetime] = system_clock) -> dict[str, Any]:
    """Replace the node's keys with new ones; the rotation statement, signed by the old key, for its partners.

    The rotation is recorded in the audit log first (the head signed by the old key), so that the log still
    verifies with the new key; then the old public keys are added to `retired_keys.toml`, whose oldest key
    anchors the log's line of keys (pactnet.audit.trust), and only then are the key files replaced. It refuses
    while the node is being served (pactnet.serving): a running node would go on signing with the old key, and
    its audit log's head would no longer verify.
    """
    with stopped(folder):
        node = open_node(folder, clock)
        try:
            at = node.now()
            old = node.keys
            new = NodeKeys.generate()
            statement = build_rotation(old, new, node.party, at)
            with node.uow.transaction() as connection:
                entry = AuditRecord(KEY_ROTATED, "cli", node.party, {"rotation": statement})
                node.audit.append(connection, instant_text(at), [entry])
        finally:
            node.close()
        _record_retired(folder, old, statement)
        _replace_keys(folder, new)
    note(
        log,
        "key-rotated",
        party=statement["party"],
        retired=statement["old_fingerprint"],
        fingerprint=statement["fingerprint"],
    )
    return statement


def rotation_statements(folder: Path) -> list[dict[str, Any]]:
    """Every rotation statement of this node, oldest first, as `retired_keys.toml` keeps them."""
    _config(folder)  # a folder that is no node is refused with the config's message
    path = folder / RETIRED_KEYS_FILE
    if not path.exists():
        return []
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return [json.loads(item["rotation"]) for item in document.get("retired_keys", [])]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, KeyError, TypeError) as error:
        raise NodeError(f"{path}: cannot be read ({error})") from error


def _replace_keys(folder: Path, keys: NodeKeys) -> None:
    """Write the new key files (0600) beside the old ones, then move them into place."""
    staging = Path(tempfile.mkdtemp(prefix=".keys.", dir=folder))
    try:
        keys.save(staging)
        for name in (ENCRYPTION_KEY_FILE, SIGNING_KEY_FILE):
            (staging / name).replace(folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _record_retired(folder: Path, old: NodeKeys, statement: dict[str, Any]) -> None:
    """Add the retired public keys and the rotation statement to `retired_keys.toml`, oldest first."""
    path = folder / RETIRED_KEYS_FILE
    existing = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else ("# This node's retired keys, written by `pactnet node rotate-key`; see docs/federation.md.\n")
    )
    block = [
        "",
        "[[retired_keys]]",
        f"signing_key = {toml_string(b64(old.public_signing))}",
        f"encryption_key = {toml_string(b64(old.public_encryption))}",
        f"fingerprint = {toml_string(fingerprint(old.public_signing))}",
        f"retired_at = {toml_string(statement['rotated_at'])}",
        f"rotation = {toml_string(json.dumps(statement, sort_keys=True, ensure_ascii=False))}",
    ]
    write_atomically(path, existing + "\n".join(block) + "\n")
