"""The users table as a repository: a user as stored, added, listed, found by token hash, disabled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from pactnet.store.tables import users

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A user's row: the clearance and roles as stored (names), the token only as its hash, never read back."""

    id: int
    name: str
    clearance: str
    compartments: frozenset[str]
    roles: tuple[str, ...]
    disabled: bool


def _stored(row: Row[Any]) -> StoredUser:
    return StoredUser(
        int(row.id),
        str(row.name),
        str(row.clearance),
        frozenset(row.compartments),
        tuple(row.roles),
        bool(row.disabled),
    )


def add_user_row(
    connection: Connection,
    name: str,
    clearance: str,
    compartments: list[str],
    roles: list[str],
    token_hash: str,
    created_at: str,
) -> int:
    """Store a new, enabled user; its id. A name or token hash already stored raises IntegrityError."""
    values = {"name": name, "clearance": clearance, "compartments": compartments, "roles": roles}
    result = connection.execute(
        insert(users).values(**values, token_hash=token_hash, disabled=False, created_at=created_at)
    )
    return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0


def every_user(connection: Connection) -> list[StoredUser]:
    """Every user, in order of creation."""
    return [_stored(row) for row in connection.execute(select(users).order_by(users.c.id))]


def user_by_token_hash(connection: Connection, token_hash: str) -> StoredUser | None:
    """The user holding the token of this hash, enabled or not, or None."""
    row = connection.execute(select(users).where(users.c.token_hash == token_hash)).first()
    return None if row is None else _stored(row)


def user_by_id(connection: Connection, user_id: int) -> StoredUser | None:
    """The user of this id, enabled or not, or None."""
    row = connection.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _stored(row)


def disable_user_row(connection: Connection, name: str) -> bool:
    """Mark the user of this name disabled; whether there was one."""
    return connection.execute(update(users).where(users.c.name == name).values(disabled=True)).rowcount > 0


def is_enabled(connection: Connection, user_id: int) -> bool:
    """Whether the user of this id still exists and is not disabled."""
    disabled = connection.execute(select(users.c.disabled).where(users.c.id == user_id)).scalar_one_or_none()
    return disabled is not None and not disabled
