"""Audit entries as a reader may see them: what concerns an item the reader may not read is shown redacted.

Need to know (GSOMIA art. 7) holds in the audit log too: an auditor cleared below an item, or outside its
compartments, sees that something happened (kind, instant, sequence number, hashes) but not what (actor,
subject, data: no titles, purposes or descriptions). The `prev` and `hash` of a redacted entry are kept, so the
chain's links can still be followed through it, and the signed head still covers the whole log.

Deny by default: an entry is shown whole only if it concerns no item (its kind says so) or every item it
concerns is readable; an entry whose items cannot be told is redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from pactnet.store.tables import compromises, consent_requests, reports

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Connection

    from pactnet.audit.chain import Entry
    from pactnet.services.users import User

# Entries about the node and its people, never about an item: shown to every reader of the log.
ABOUT_NO_ITEM = frozenset(
    {
        "node-created",
        "user-added",
        "user-disabled",
        "lifecycle",
        "config-changed",
        "key-rotated",
        "checkpoint",
        "console-signed-in",
        "console-signed-out",
    }
)
# A listing's subject names what was listed; its data lists what was returned, by id of that table.
_LISTED = {"reports": None, "consent-requests": consent_requests, "compromises": compromises}
_KEPT = ("seq", "at", "kind", "prev", "hash")


def _named_items(entry: Entry) -> set[str] | None:
    """The report ids an entry names itself, or None if what it concerns cannot be told without a lookup."""
    data = entry.data
    named = {str(data[key]) for key in ("report", "report_id") if isinstance(data.get(key), str)}
    if entry.kind == "list" and entry.subject == "reports":
        return named | {str(one) for one in data.get("returned", [])}
    if entry.kind == "list":
        return None
    return named | {entry.subject}


def _items(connection: Connection, entries: Iterable[Entry]) -> dict[int, set[str] | None]:
    """For each entry not about the node, the report ids it concerns (None: they cannot be told)."""
    found: dict[int, set[str] | None] = {}
    for entry in entries:
        if entry.kind in ABOUT_NO_ITEM:
            continue
        named = _named_items(entry)
        table = _LISTED.get(entry.subject) if entry.kind == "list" else None
        if named is None and table is not None:
            ids = [str(one) for one in entry.data.get("returned", [])]
            rows = connection.execute(select(table.c.report_id).where(table.c.id.in_(ids))).all() if ids else []
            named = {row.report_id for row in rows}
        found[entry.seq] = named
    return found


def _unreadable(connection: Connection, user: User, report_ids: set[str]) -> set[str]:
    """Those of the ids that name stored reports the user may not read.

    An id names a report by this node's id or by its originator's (a consent statement received from a partner
    names the item so). An id that is no stored report (an envelope, an agreement, a user) hides nothing.
    """
    if not report_ids:
        return set()
    named = or_(reports.c.id.in_(report_ids), reports.c.origin_id.in_(report_ids))
    columns = (reports.c.id, reports.c.origin_id, reports.c.level_rank, reports.c.compartments)
    rows = connection.execute(select(*columns).where(named)).all()
    hidden = [row for row in rows if not user.may_see(row.level_rank, row.compartments)]
    return {row.id for row in hidden} | {row.origin_id for row in hidden}


def concealed(connection: Connection, user: User, entries: list[Entry]) -> set[int]:
    """The `seq` of every entry that concerns an item the user may not read, or whose items cannot be told."""
    concerned = _items(connection, entries)
    hidden = _unreadable(connection, user, set().union(*(ids for ids in concerned.values() if ids is not None)))
    return {seq for seq, ids in concerned.items() if ids is None or not ids.isdisjoint(hidden)}


def entries_for(connection: Connection, user: User, entries: list[Entry]) -> list[dict[str, Any]]:
    """The entries as the user may see them, in order: whole, or redacted (`"redacted": true`)."""
    redacted = concealed(connection, user, entries)
    shown: list[dict[str, Any]] = []
    for entry in entries:
        whole = entry.as_dict()
        if entry.seq in redacted:
            shown.append({key: whole[key] for key in _KEPT} | {"redacted": True})
        else:
            shown.append(whole | {"redacted": False})
    return shown
