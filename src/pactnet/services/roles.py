"""Roles and the duties they carry: who at a node may do what, denied unless a role grants it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pactnet.services import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable


class Duty(StrEnum):
    """One thing a user may be allowed to do; every route and command needs exactly one."""

    PUBLISH = "publish"
    READ = "read"
    ASK_CONSENT = "ask-consent"
    RELEASE = "release"
    REPORT_COMPROMISE = "report-compromise"
    VIEW_AGREEMENTS = "view-agreements"
    VIEW_INBOXES = "view-inboxes"
    RECORD_ACT = "record-act"
    ANSWER_CONSENT = "answer-consent"
    READ_AUDIT = "read-audit"
    MANAGE_USERS = "manage-users"
    MANAGE_PARTNERS = "manage-partners"
    MANAGE_KEYS = "manage-keys"


class Role(StrEnum):
    """A set of duties given to a user (`pactnet user add --role`)."""

    ANALYST = "analyst"
    OFFICER = "officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


# Need to know (GSOMIA art. 7) governs what a user may read; these govern what a user may do. A lifecycle act
# commits the party (GSOMIA art. 21), and a consent releases another party's trust (art. 6): an officer's, not an
# analyst's. Everyone who works with the node may see the agreements and their state.
DUTIES: dict[Role, frozenset[Duty]] = {
    Role.ANALYST: frozenset(
        {
            Duty.PUBLISH,
            Duty.READ,
            Duty.ASK_CONSENT,
            Duty.RELEASE,
            Duty.REPORT_COMPROMISE,
            Duty.VIEW_AGREEMENTS,
            Duty.VIEW_INBOXES,
        }
    ),
    Role.OFFICER: frozenset({Duty.RECORD_ACT, Duty.ANSWER_CONSENT, Duty.VIEW_AGREEMENTS, Duty.VIEW_INBOXES}),
    Role.AUDITOR: frozenset({Duty.READ_AUDIT, Duty.VIEW_AGREEMENTS}),
    Role.ADMIN: frozenset({Duty.MANAGE_USERS, Duty.MANAGE_PARTNERS, Duty.MANAGE_KEYS, Duty.VIEW_AGREEMENTS}),
}
DEFAULT_ROLES = frozenset({Role.ANALYST})


def duties_of(roles: Iterable[Role]) -> frozenset[Duty]:
    """Every duty the roles carry together."""
    return frozenset().union(*(DUTIES[role] for role in roles))


def roles_with(duty: Duty) -> list[Role]:
    """The roles that carry a duty, in the order they are declared."""
    return [role for role in Role if duty in DUTIES[role]]


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; an unknown name is an error that lists the known ones."""
    known = {role.value: role for role in Role}
    found: set[Role] = set()
    for name in names:
        if name not in known:
            choices = ", ".join(known)
            raise InvalidInputError(f"role {name!r} is not a role: expected one of {choices}")
        found.add(known[name])
    if not found:
        raise InvalidInputError(f"a user needs at least one role: {', '.join(known)}")
    return frozenset(found)
