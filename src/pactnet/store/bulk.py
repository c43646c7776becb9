"""Many rows into one table in one driver call: the statement compiled once, each value bound as SQLAlchemy would.

Publishing a report writes a dozen rows (the report, its decisions, its transfers, its audit entries, its index
row), and SQLAlchemy's executemany builds a parameter set and looks up each column's type for every row: for
these few tables that cost as much as the database's own work. Here the INSERT is compiled once per dialect,
table and columns, each column's bind processor is taken once from its type (so a JSON value, a boolean or a
NULL is stored exactly as through SQLAlchemy), and the rows go to the driver's executemany as they are. A JSON
value met again in one call (the same object: the decisions of a post share a handful, services.records) is
encoded once.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, bindparam, insert

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy import Connection, Table
    from sqlalchemy.engine import Dialect


@dataclass(frozen=True, slots=True)
class _Compiled:
    """An INSERT as the driver takes it: its SQL, its parameters' names in order, and how each value is bound."""

    sql: str
    names: tuple[str, ...]
    bind: tuple[Callable[[Any], Any] | None, ...]
    positional: bool
    json: tuple[bool, ...]  # by parameter: whether it is a JSON column, whose values may be shared by rows


# By dialect (an engine's: its JSON serializer is part of how a value is bound), then table and columns; a
# dialect's entries go with its engine. None: the insert is left to SQLAlchemy (a column default to fill in).
_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, tuple[str, ...]], _Compiled | None]]
_COMPILED = weakref.WeakKeyDictionary()


def _compile(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> _Compiled:
    statement = insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in columns})
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ()) if dialect.positional else columns
    bind = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    json = tuple(isinstance(table.c[name].type, JSON) for name in names)
    return _Compiled(compiled.string, names, bind, positional=dialect.positional, json=json)


def _once_per_object(bind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`bind`, run once per object in one call: the rows keep every object alive, so no id is reused meanwhile.

    A pure function of the value, and nothing changes a row while it is written: the same object binds the same.
    """
    seen: dict[int, object] = {}

    def bound(value: object) -> object:
        key = id(value)
        if key in seen:
            return seen[key]
        result = seen[key] = bind(value)
        return result

    return bound


def _python_defaults(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether a column left out has a default that SQLAlchemy, not the database, fills in."""
    return any(column.default is not None for column in table.columns if column.name not in columns)


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (each with the same keys, as for SQLAlchemy's executemany) in one driver call."""
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = connection.dialect
    known = _COMPILED.setdefault(dialect, {})
    if (table.name, columns) not in known:  # worked out once per dialect, table and columns
        compiled = None if _python_defaults(table, columns) else _compile(dialect, table, columns)
        known.setdefault((table.name, columns), compiled)
    compiled = known[(table.name, columns)]
    if compiled is None:  # a column left out is filled in by SQLAlchemy, which knows how
        connection.execute(insert(table), list(rows))
        return
    # Each row's values taken in one call (itemgetter), then each column with a bind processor bound in place: a
    # test per value costs as much as taking it, and most columns (ids, names, instants) have none.
    names = compiled.names
    take = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    values = [list(take(row)) for row in rows]
    for index, (bind, json) in enumerate(zip(compiled.bind, compiled.json, strict=True)):
        if bind is not None:
            bind_one = _once_per_object(bind) if json else bind
            for value in values:
                value[index] = bind_one(value[index])
    if compiled.positional:
        connection.exec_driver_sql(compiled.sql, [tuple(value) for value in values])
    else:
        connection.exec_driver_sql(compiled.sql, [dict(zip(names, value, strict=True)) for value in values])
