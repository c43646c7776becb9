"""store.bulk: rows inserted in one driver call are stored exactly as SQLAlchemy's executemany stores them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, insert, text

from pactnet.store import database
from pactnet.store.bulk import insert_rows

METADATA = MetaData()
SAMPLE = Table(
    "bulk_sample",
    METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("listed", JSON, nullable=False),
    Column("maybe", JSON),
    Column("note", String(200)),
)
WITH_DEFAULT = Table(
    "bulk_defaulted",
    METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)
ROWS: list[dict[str, Any]] = [
    {"name": "plain", "flag": True, "listed": ["ROK", "JPN"], "maybe": {"level": "2급 비밀"}, "note": "x"},
    {"name": "nulls", "flag": False, "listed": [], "maybe": None, "note": None},
    {"name": "edges", "flag": True, "listed": [2**70, "\ud800", 1.5], "maybe": {"k": [1, {"deep": None}]}, "note": ""},
]
STORED = (
    "SELECT name, flag, CAST(listed AS TEXT), CAST(maybe AS TEXT), maybe IS NULL, note FROM bulk_sample ORDER BY seq"
)


def _stored(url: str, rows: list[dict[str, Any]], *, bulk: bool) -> list[tuple[Any, ...]]:
    engine = database.create(url)
    try:
        METADATA.drop_all(engine)
        METADATA.create_all(engine)
        with engine.begin() as connection:
            if bulk:
                insert_rows(connection, SAMPLE, rows)
            else:
                connection.execute(insert(SAMPLE), rows)
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(STORED))]
    finally:
        METADATA.drop_all(engine)
        engine.dispose()


def test_rows_are_stored_as_sqlalchemy_stores_them(database_url: str) -> None:
    rows = ROWS if database_url.startswith("sqlite") else ROWS[:2]  # PostgreSQL's json refuses a lone surrogate
    expected = _stored(database_url, rows, bulk=False)
    assert _stored(database_url, rows, bulk=True) == expected
    # A JSON column's None is stored as SQLAlchemy stores it: the JSON text null, not SQL NULL.
    assert expected[1][3] == "null"
    assert not expected[1][4]


def test_a_default_filled_in_by_sqlalchemy_is_filled_in(database_url: str) -> None:
    engine = database.create(database_url)
    try:
        METADATA.create_all(engine)
        with engine.begin() as connection:
            insert_rows(connection, WITH_DEFAULT, [{"name": "a"}, {"name": "b"}])
        with engine.connect() as connection:
            found = connection.execute(text("SELECT name, disabled FROM bulk_defaulted ORDER BY seq")).all()
        assert [(name, bool(disabled)) for name, disabled in found] == [("a", False), ("b", False)]
    finally:
        METADATA.drop_all(engine)
        engine.dispose()


def test_no_rows_is_no_statement(database_url: str) -> None:
    engine = database.create(database_url)
    try:
        with engine.begin() as connection:
            insert_rows(connection, SAMPLE, [])  # the table does not even exist: nothing may be sent
    finally:
        engine.dispose()


@pytest.mark.parametrize("bulk", [True, False])
def test_rows_missing_a_key_are_refused_whole(database_url: str, *, bulk: bool) -> None:
    engine = database.create(database_url)
    try:
        METADATA.create_all(engine)
        broken = [ROWS[0], {key: value for key, value in ROWS[1].items() if key != "flag"}]
        with pytest.raises(Exception), engine.begin() as connection:  # noqa: B017, PT011 - each path raises its own
            (insert_rows if bulk else lambda c, t, r: c.execute(insert(t), r))(connection, SAMPLE, broken)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM bulk_sample")).scalar() == 0
    finally:
        METADATA.drop_all(engine)
        engine.dispose()
