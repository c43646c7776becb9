"""Cleared users: created with a clearance and compartments, identified by an API token stored only as a hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from pactnet.services import ConflictError, InvalidInputError, NotFoundError
from pactnet.store.instants import instant_text
from pactnet.store.tables import users

if TYPE_CHECKING:
    from sqlalchemy import Row

    from pactnet.services.context import Node

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


def new_token() -> str:
    """A fresh API token: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return "pn_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class User:
    """A person cleared to a level of this party's scheme, holding some compartments."""

    id: int
    name: str
    clearance: str
    rank: int
    compartments: frozenset[str]
    disabled: bool

    def may_see(self, level_rank: int, compartments: list[str]) -> bool:
        """GSOMIA art. 7 / R13: a clearance at least the item's level, and every compartment of the item."""
        return self.rank >= level_rank and self.compartments.issuperset(compartments)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: 32 random bytes need no slow hash, and a leaked table reveals nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(node: Node, row: Row[tuple[object, ...]]) -> User:
    party = node.world.parties[node.party]
    mapping = row._mapping  # noqa: SLF001 - SQLAlchemy's documented way to read a row by name
    clearance = str(mapping["clearance"])
    return User(
        int(str(mapping["id"])),
        str(mapping["name"]),
        clearance,
        party.rank(clearance),
        frozenset(mapping["compartments"]),
        bool(mapping["disabled"]),
    )


def add_user(node: Node, name: str, clearance: str, compartments: list[str], actor: str = "cli") -> tuple[User, str]:
    """Create a user and return the API token, which is shown once and never stored."""
    party = node.world.parties[node.party]
    if not _NAME.fullmatch(name):
        raise InvalidInputError(f"user name {name!r}: use 1-100 letters, digits, '.', '_', '@' or '-'")
    if party.level_of(clearance) is None:
        levels = ", ".join([*party.levels, *party.aliases])
        raise InvalidInputError(f"clearance {clearance!r} is not a level of {node.party} ({levels})")
    for compartment in compartments:
        if not _NAME.fullmatch(compartment):
            raise InvalidInputError(f"compartment {compartment!r}: use letters, digits, '.', '_', '@' or '-'")
    token = new_token()
    now = instant_text(node.now())
    level = party.canonical[clearance]
    try:
        with node.uow.transaction() as connection:
            result = connection.execute(
                insert(users).values(
                    name=name,
                    clearance=level,
                    compartments=sorted(set(compartments)),
                    token_hash=hash_token(token),
                    disabled=False,
                    created_at=now,
                )
            )
            data = {"clearance": level, "compartments": sorted(set(compartments))}
            node.audit.append(connection, now, [("user-added", actor, name, data)])
            user_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
    except IntegrityError as error:
        raise ConflictError(f"a user named {name!r} already exists") from error
    return User(int(user_id), name, level, party.rank(level), frozenset(compartments), disabled=False), token


def list_users(node: Node) -> list[User]:
    """Every user, in order of creation."""
    with node.uow.read() as connection:
        return [_user(node, row) for row in connection.execute(select(users).order_by(users.c.id))]


def disable_user(node: Node, name: str, actor: str = "cli") -> None:
    """Disable a user: the token stops working at once; the user stays in the audit trail."""
    now = instant_text(node.now())
    with node.uow.transaction() as connection:
        result = connection.execute(update(users).where(users.c.name == name).values(disabled=True))
        if result.rowcount == 0:
            raise NotFoundError(f"no user named {name!r}")
        node.audit.append(connection, now, [("user-disabled", actor, name, {})])


def authenticate(node: Node, token: str) -> User | None:
    """The enabled user holding `token`, or None."""
    with node.uow.read() as connection:
        row = connection.execute(select(users).where(users.c.token_hash == hash_token(token))).first()
    if row is None or row.disabled:
        return None
    return _user(node, row)
