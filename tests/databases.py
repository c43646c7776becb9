"""Fresh PostgreSQL databases for tests: made on the machine's server, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ADMIN_URL = os.environ.get("PACTNET_TEST_POSTGRES", "postgresql://postgres@127.0.0.1/postgres")


@contextmanager
def fresh_postgres_database(prefix: str = "pactnet_test", keep: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """The URL of a new, empty database; it is dropped (connections and all) when the block ends, unless `keep()`."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if not keep():
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
