"""Cleared users: created with a clearance and compartments, identified by an API token stored only as a hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from pactnet.audit.chain import AuditRecord
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from pactnet.services.roles import DEFAULT_ROLES, Duty, Role, duties_of, parse_roles, roles_with
from pactnet.store.instants import instant_text
from pactnet.store.users import (
    StoredUser,
    add_user_row,
    disable_user_row,
    every_user,
    user_by_id,
    user_by_token_hash,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Connection

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
    roles: frozenset[Role] = DEFAULT_ROLES

    def may(self, duty: Duty) -> bool:
        """Whether one of the user's roles carries the duty."""
        return duty in duties_of(self.roles)

    def require(self, duty: Duty) -> None:
        """Deny by default: ForbiddenError naming the roles that carry the duty, unless one of the user's does."""
        if self.may(duty):
            return
        needed = roles_with(duty)
        named = " or ".join(needed)
        raise ForbiddenError(
            f"{self.name} may not {duty.value}: that needs the role {named} (ask an admin: pactnet user add --role)",
            [{"code": "missing-duty", "duty": duty.value, "roles": [role.value for role in needed]}],
        )

    def may_see(self, level_rank: int, compartments: list[str]) -> bool:
        """GSOMIA art. 7 / R13: a clearance at least the item's level, and every compartment of the item."""
        return self.rank >= level_rank and self.compartments.issuperset(compartments)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: 32 random bytes need no slow hash, and a leaked table reveals nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(node: Node, stored: StoredUser) -> User:
    """A stored user with the rank of its clearance in this party's scheme and its roles as Roles."""
    rank = node.world.parties[node.party].rank(stored.clearance)
    roles = parse_roles(stored.roles)
    return User(stored.id, stored.name, stored.clearance, rank, stored.compartments, stored.disabled, roles)


def add_user(
    node: Node,
    name: str,
    clearance: str,
    compartments: list[str],
    actor: str = "cli",
    roles: Iterable[str] = DEFAULT_ROLES,
) -> tuple[User, str]:
    """Create a user with its roles and return the API token, which is shown once and never stored."""
    party = node.world.parties[node.party]
    given = parse_roles(roles)
    granted = sorted(role.value for role in given)
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
            user_id = add_user_row(connection, name, level, sorted(set(compartments)), granted, hash_token(token), now)
            data = {"clearance": level, "compartments": sorted(set(compartments)), "roles": granted}
            node.audit.append(connection, now, [AuditRecord("user-added", actor, name, data)])
    except IntegrityError as error:
        raise ConflictError(f"a user named {name!r} already exists") from error
    user = User(int(user_id), name, level, party.rank(level), frozenset(compartments), disabled=False, roles=given)
    return user, token


def list_users(node: Node) -> list[User]:
    """Every user, in order of creation."""
    with node.uow.read() as connection:
        return [_user(node, stored) for stored in every_user(connection)]


def disable_user(node: Node, name: str, actor: str = "cli") -> None:
    """Disable a user: the token stops working at once; the user stays in the audit trail."""
    now = instant_text(node.now())
    with node.uow.transaction() as connection:
        if not disable_user_row(connection, name):
            raise NotFoundError(f"no user named {name!r}")
        node.audit.append(connection, now, [AuditRecord("user-disabled", actor, name, {})])


def user_of(node: Node, connection: Connection, user_id: int) -> User | None:
    """The enabled user with this id, read in the caller's transaction, or None."""
    stored = user_by_id(connection, user_id)
    if stored is None or stored.disabled:
        return None
    return _user(node, stored)


def authenticate(node: Node, token: str) -> User | None:
    """The enabled user holding `token`, or None."""
    with node.uow.read() as connection:
        stored = user_by_token_hash(connection, hash_token(token))
    if stored is None or stored.disabled:
        return None
    return _user(node, stored)
