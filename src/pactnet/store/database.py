"""The database: engines for SQLite (embedded default) and PostgreSQL (scale-out), and schema migrations."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from pactnet.errors import PactnetError

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy import Connection
    from sqlalchemy.engine import Engine


class StoreError(PactnetError):
    """The database cannot be reached, or holds a schema this version of pactnet does not know."""


def normalise_url(url: str) -> str:
    """Accept the usual `postgresql://user@host/db` and `sqlite:///path` forms; pick the drivers pactnet uses."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(
            "not a database URL (expected sqlite:///PATH or postgresql://USER@HOST/DB)"  # the URL may hold a password
        ) from error
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    raise StoreError(f"unsupported database {backend!r}: pactnet runs on SQLite or PostgreSQL")


def shown_url(url: str) -> str:
    """The database URL as it may be printed or logged: its password, if any, as `***`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # The driver's own transaction handling is turned off so that every transaction starts with
    # BEGIN IMMEDIATE (below): writers queue for the lock up front instead of failing on upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed report survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


READ_ONLY = "pactnet_read_only"


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the lock up front (IMMEDIATE), so two never deadlock upgrading a read lock; connections
    # marked read-only (see `reader`) begin DEFERRED and read beside a writer, as WAL allows.
    connection.exec_driver_sql("BEGIN" if is_reader(connection) else "BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read."""
    return engine.execution_options(**{READ_ONLY: True})


def is_reader(connection: Connection) -> bool:
    """Whether the connection comes from `reader`: its transactions only read."""
    return bool(connection.get_execution_options().get(READ_ONLY, False))


def column_json(value: object) -> str:
    """A JSON column's text: orjson's compact encoding, or the standard library's for what orjson refuses.

    The columns are written for every report, decision and transfer (a dozen values a report), and the standard
    library's encoder costs several times orjson's there. orjson refuses what JSON cannot hold as it is (a
    lone surrogate, an integer beyond 64 bits, a key that is not a string): the standard library writes those
    as it always did, so nothing that was stored before is refused now.
    """
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value)


def create(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for `url`, with SQLite set up for durability and one writer at a time.

    `hide_parameters`: an error's message (which the dispatcher and the server log) leaves out the statement's
    parameters, which are reports' titles and bodies.
    """
    normal = normalise_url(url)
    if normal.startswith("sqlite"):
        engine = create_engine(
            normal, pool_size=pool_size, max_overflow=10, hide_parameters=True, json_serializer=column_json
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        normal,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        hide_parameters=True,
        json_serializer=column_json,
    )


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("pactnet.store") / "migrations"))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest schema revision this version of pactnet knows."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("pactnet.store") / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise StoreError("pactnet ships no migrations")
    return head


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to the newest schema (or to `revision`, for a test of an upgrade)."""
    try:
        command.upgrade(_alembic_config(engine), revision)
    except SQLAlchemyError as error:
        raise StoreError(f"cannot migrate the database: {error.__class__.__name__}: {error.args[0]}") from error


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as error:
        raise StoreError(f"cannot open the database: {error.args[0]}") from error


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema is unknown, newer, or not migrated."""
    found = current_revision(engine)
    known = {script.revision for script in ScriptDirectory.from_config(_alembic_config(engine)).walk_revisions()}
    head = head_revision()
    if found is None:
        raise StoreError("the database has no pactnet schema: run `pactnet node init` (or migrate) first")
    if found not in known:
        raise StoreError(
            f"the database is at schema revision {found}, which this version of pactnet does not know "
            f"(it knows up to {head}): it was written by a newer pactnet, or is not a pactnet database"
        )
    if found != head:
        raise StoreError(
            f"the database is at schema revision {found}; this pactnet needs {head}: "
            "migrate it first (pactnet node migrate DIR)"
        )
