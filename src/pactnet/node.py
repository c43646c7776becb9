"""The composition root: a node built from its folder — config, keys, world, database, audit log, clock."""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event, func, select

from pactnet.audit.chain import KEY_ROTATED
from pactnet.audit.trust import RETIRED_KEYS_FILE
from pactnet.config import CONFIG_FILE, ConfigError, NodeConfig, load_config
from pactnet.crypto.identity import build_identity, build_rotation
from pactnet.crypto.keys import ENCRYPTION_KEY_FILE, SIGNING_KEY_FILE, NodeKeys, b64, fingerprint
from pactnet.errors import PactnetError, WorldError
from pactnet.federation.partners import PartnerRegistry, load_partners
from pactnet.federation.refusal_tally import RefusalTally
from pactnet.federation.tomlfile import toml_string, write_atomically
from pactnet.logs import note
from pactnet.policy.model import Consent
from pactnet.serving import served_url, stopped
from pactnet.store import database
from pactnet.store.audit_log import SqlAuditLog
from pactnet.store.tables import audit_entries, consents, lifecycle_acts
from pactnet.store.writer import GroupCommitter
from pactnet.urgency import Urgency
from pactnet.wakeups import LaneWaker, LaneWakers
from pactnet.world import BUNDLED, load_document, read_document

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine

    from pactnet.policy.model import World


T = TypeVar("T")
log = logging.getLogger(__name__)
_COUNT_ACTS = select(
    select(func.count()).select_from(lifecycle_acts).scalar_subquery()
    + select(func.count()).select_from(consents).scalar_subquery()
)
# Where a connection's info holds the dispatcher lanes its writes queued outbox rows for (see take_queued).
QUEUED_LANES = "pactnet.outbox.queued"
# Noted on a connection whose transaction read the acts and consents into the node's world (Node.refresh).
WORLD_READ = "pactnet.world.read"


def system_clock() -> datetime:
    """The wall clock, in UTC; the only place a node reads it (the demo hands in a scenario clock)."""
    return datetime.now(UTC)


def instant_text(at: datetime) -> str:
    """The fixed-width UTC text instants are stored as (see store.tables.INSTANT)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant_text(text: str) -> datetime:
    """The inverse of `instant_text`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class NodeError(PactnetError):
    """A node cannot be created or started; the message says what to do."""


@dataclass(slots=True)
class Node:
    """One party's node: everything a request needs, built once."""

    config: NodeConfig
    keys: NodeKeys
    engine: Engine
    audit: SqlAuditLog
    document: dict[str, Any]
    world: World
    clock: Callable[[], datetime] = system_clock
    acts: list[dict[str, Any]] = field(default_factory=list)
    granted: list[Consent] = field(default_factory=list)
    writer: GroupCommitter = field(init=False)
    # Rung when something was written to the outbox, so that a dispatcher in this process sends it at once: the
    # urgent lanes (True), one idle lane per write, and the others (False), all of them.
    outbox_wakers: dict[bool, LaneWakers] = field(
        default_factory=lambda: {True: LaneWakers(one_at_a_time=True), False: LaneWakers(one_at_a_time=False)}
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Flash and immediate work in hand in this process, which routine work gives way to (pactnet.urgency).
    urgency: Urgency = field(default_factory=Urgency)
    # Refusals of unopened envelopes audited one by one, and those only counted (pactnet.federation.refusal_tally).
    refusals: RefusalTally = field(default_factory=RefusalTally)

    reader: Engine = field(init=False)
    # Set when a transaction that read the acts and consents into `world` was rolled back: what it read may
    # have included its own rows, which are gone now, so the next refresh reads them again whatever their count.
    world_stale: bool = False

    def __post_init__(self) -> None:
        self.writer = GroupCommitter(self.engine)
        self.reader = database.reader(self.engine)
        event.listen(self.engine, "commit", _world_read_kept)
        event.listen(self.engine, "rollback", self._world_read_undone)
        event.listen(self.engine, "rollback_savepoint", self._world_read_undone)

    def write(self, job: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run a write (and the audit entries it appends) in a committed transaction, sharing its fsync.

        `urgent` (a flash or immediate report, its delivery): taken before the routine writes waiting with it.
        Once it is committed, the dispatcher lanes it queued outbox rows for are woken.
        """
        queued: set[bool] = set()

        def job_and_its_queue(connection: Connection) -> T:
            take_queued(connection)  # a note left on this pooled connection by a write that failed
            result = job(connection)
            queued.update(take_queued(connection))
            return result

        result = self.writer.run(job_and_its_queue, urgent=urgent)
        self.outbox_changed(queued)
        return result

    @property
    def party(self) -> str:
        """The party this node speaks for."""
        return self.config.party

    def now(self) -> datetime:
        """The node's current instant."""
        return self.clock()

    def world_with(self, *events: dict[str, Any]) -> World:
        """The world with the recorded acts and `events` added; raises WorldError if an act makes no sense."""
        return self.world_with_acts(self.acts, *events)

    def world_with_acts(
        self, acts: list[dict[str, Any]], *events: dict[str, Any], granted: list[Consent] | None = None
    ) -> World:
        """The world with these acts, `events` and consents (by default those recorded); raises WorldError."""
        document = copy.copy(self.document)
        document["events"] = [*self.document.get("events", []), *acts, *events]
        world = read_document(document, self.world.source)
        consents = self.granted if granted is None else granted
        return world.with_consents(consents) if consents else world

    def refresh(self, connection: Connection) -> World:
        """The world with every lifecycle act recorded so far, by any API worker on the same database.

        Called inside the transaction that decides, so a decision never rests on a world older than its
        own transaction.
        """
        count = connection.execute(_COUNT_ACTS).scalar_one()  # acts and consents: committed rows stay
        with self.lock:  # API threads and dispatcher lanes refresh alike: acts, consents and world change together
            if self.world_stale or count != len(self.acts) + len(self.granted):
                acts, granted = recorded_acts(connection), recorded_consents(connection)
                world = self.world_with_acts(acts, granted=granted)
                self.acts, self.granted, self.world = acts, granted, world
                self.world_stale = False
                if not database.is_reader(connection):  # a reader's transaction holds no rows of its own
                    connection.info[WORLD_READ] = True
            return self.world

    def _world_read_undone(self, connection: Connection, *_savepoint: object) -> None:
        # A rolled-back write (one that failed, or gave way to an urgent one) may have refreshed the world with
        # an act or consent of its own: without this, a row committed later would bring the count back to what
        # the world holds, and the rolled-back one would stay in it in place of the committed one.
        if connection.info.pop(WORLD_READ, False):
            with self.lock:
                self.world_stale = True

    def adopt(self, event: dict[str, Any], world: World) -> None:
        """Take a recorded act into the node's world (after its transaction committed)."""
        with self.lock:
            self.acts = [*self.acts, event]
            self.world = world

    def outbox_waker(self, *, urgent: bool) -> LaneWaker:
        """What a dispatcher lane (urgent or not) waits on: woken when this process queues rows for its class."""
        return self.outbox_wakers[urgent].add()

    def outbox_changed(self, lanes: Iterable[bool]) -> None:
        """Wake this process's dispatcher lanes that have something new: urgent (True), the others (False).

        Only those, and one urgent lane per write (pactnet.wakeups): every lane woken reads the outbox, and those
        reads take turns on the interpreter lock with the flash being sent or received.
        """
        for urgent in set(lanes):
            self.outbox_wakers[urgent].ring()

    def close(self) -> None:
        """Finish the writes handed over, then release the database connections."""
        self.writer.close()
        self.engine.dispose()


def _world_read_kept(connection: Connection) -> None:
    connection.info.pop(WORLD_READ, None)


def take_queued(connection: Connection) -> set[bool]:
    """The dispatcher lanes the writes on this connection queued outbox rows for since the last call.

    pactnet.federation.outbox notes them (urgent True, the others False) as it writes the rows; whoever commits
    the transaction takes them and wakes those lanes only (`Node.outbox_changed`), after the commit. A row rolled
    back after it was noted costs one needless wake-up, nothing more.
    """
    lanes: set[bool] = connection.info.pop(QUEUED_LANES, set())
    return lanes


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


def recorded_acts(connection: Connection) -> list[dict[str, Any]]:
    """Every lifecycle act recorded at this node, in order, as world-file events."""
    rows = connection.execute(select(lifecycle_acts).order_by(lifecycle_acts.c.seq)).all()
    return [{"at": row.at, "type": row.type, "agreement": row.agreement, "by": row.by} for row in rows]


def recorded_consents(connection: Connection) -> list[Consent]:
    """Every consent recorded at this node (granted here, or received from an originator), in order."""
    return [
        Consent(
            row.report,
            row.originator,
            row.to,
            row.arrangement,
            parse_instant_text(row.at),
            None if row.until is None else parse_instant_text(row.until),
        )
        for row in connection.execute(select(consents).order_by(consents.c.seq))
    ]


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
            log.append(connection, now, [("node-created", "cli", config.party, _settings(config))])
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
    try:
        database.check_schema(engine)
        with engine.connect() as connection:
            acts = recorded_acts(connection)
            granted = recorded_consents(connection)
    except PactnetError:
        engine.dispose()
        raise
    node = Node(config, keys, engine, SqlAuditLog(keys, config.checkpoint_every), document, world, clock)
    if record_settings:
        _audit_configuration(node)
    if acts or granted:
        node.acts, node.granted = acts, granted
        try:
            node.world = node.world_with()
        except WorldError as error:
            engine.dispose()
            raise NodeError(f"the lifecycle acts recorded in the database no longer fit the world: {error}") from error
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


def _settings(config: NodeConfig) -> dict[str, Any]:
    """The settings that matter to what a node decides and records (not where it listens)."""
    return {
        "party": config.party,
        "world": config.world,
        "checkpoint_every": config.checkpoint_every,
        "max_body_bytes": config.max_body_bytes,
        "max_page_size": config.max_page_size,
    }


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

    with node.reader.connect() as connection:
        if recorded(connection):
            return
    with node.engine.begin() as connection:
        if not recorded(connection):  # another process may have recorded it meanwhile
            node.audit.append(connection, instant_text(node.now()), [("config-changed", "node", node.party, settings)])


def new_token() -> str:
    """A fresh API token: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return "pn_" + secrets.token_urlsafe(32)


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
            with node.engine.begin() as connection:
                entry = (KEY_ROTATED, "cli", node.party, {"rotation": statement})
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
