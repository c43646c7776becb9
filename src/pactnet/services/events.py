"""Live events for a user: the audit log's new entries, as typed events, only those the user may see.

Every event a user is told of is already an audit entry, written in the transaction that did what it records;
so the log is the feed, and a position in it is where a client resumes. An event is built from an entry only
when the user may see everything it names: an entry that concerns an item the user may not read (above the
user's clearance, outside its compartments; GSOMIA art. 7) is not redacted here but left out altogether, and so
is one whose item cannot be found. Each type of event needs the duty of the route that shows the same thing
(a received report needs `read`, as the report does; a consent request `view-inboxes`, as the inbox does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select

from pactnet.services import redaction
from pactnet.services.roles import Duty
from pactnet.store import audit_log
from pactnet.store.tables import audit_entries, reports
from pactnet.store.users import is_enabled

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import ColumnElement, Connection, Row

    from pactnet.audit.chain import Entry
    from pactnet.services.context import Node
    from pactnet.services.users import User

BATCH = 500  # entries read at most per call: a client resuming far back catches up in steps

# The kinds of audit entry that are events, the event type each becomes, and the duty it needs.
TYPES: dict[str, tuple[str, Duty]] = {
    "receive": ("report-received", Duty.READ),
    "consent-requested": ("consent-request", Duty.VIEW_INBOXES),
    "consent-granted": ("consent-answer", Duty.VIEW_INBOXES),
    "consent-refused": ("consent-answer", Duty.VIEW_INBOXES),
    "consent-received": ("consent-answer", Duty.VIEW_INBOXES),
    "compromise-reported": ("compromise", Duty.VIEW_INBOXES),
    "lifecycle": ("agreement-changed", Duty.VIEW_AGREEMENTS),
    "refused-by-partner": ("delivery-failed", Duty.READ),
    "cancelled": ("delivery-failed", Duty.READ),
}
EVENT_TYPES = tuple(dict.fromkeys(event_type for event_type, _duty in TYPES.values()))
# Envelopes about no item: a failed delivery of one names no report. Any other without its report is left out.
_ITEMLESS_KINDS = frozenset({"act"})
_COLUMNS = (
    reports.c.id,
    reports.c.originator,
    reports.c.origin_id,
    reports.c.title,
    reports.c.level,
    reports.c.level_rank,
    reports.c.compartments,
    reports.c.precedence,
)


@dataclass(frozen=True)
class Event:
    """One event: where in the log it is (`position`, never shown as such) and what the user is told."""

    position: int
    type: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """The events found after a position, the position read up to, and whether more entries wait."""

    events: list[Event]
    position: int
    more: bool


def last_position(node: Node) -> int:
    """The position of the log's last entry: a client that names none starts from here."""
    with node.uow.read() as connection:
        return int(connection.execute(select(func.coalesce(func.max(audit_entries.c.seq), 0))).scalar_one())


def is_active(node: Node, user: User) -> bool:
    """Whether the user may still be told anything: a disabled user's stream ends at once."""
    with node.uow.read() as connection:
        return is_enabled(connection, user.id)


def events_after(node: Node, user: User, position: int, limit: int = BATCH) -> Batch:
    """The events for `user` in the next `limit` entries after `position`."""
    with node.uow.read() as connection:
        entries = list(audit_log.read_entries(connection, position, limit))
        wanted = [entry for entry in entries if entry.kind in TYPES and user.may(TYPES[entry.kind][1])]
        hidden = redaction.concealed(connection, user, wanted)
        shown = [entry for entry in wanted if entry.seq not in hidden]
        items = _items(connection, shown)
    found = [event for entry in shown if (event := _event(node, user, entry, items)) is not None]
    reached = entries[-1].seq if entries else position
    return Batch(found, reached, more=len(entries) == limit)


def _key(entry: Entry) -> tuple[str, str] | str | None:
    """How an entry's item is found: by its id here or, for a consent received, as its originator names it."""
    if entry.kind == "lifecycle":
        return None  # about an agreement, never an item
    if entry.kind == "consent-received":
        return (entry.actor, entry.subject)  # the statement names the item by its originator's id
    return entry.subject


def _items(connection: Connection, entries: list[Entry]) -> dict[tuple[str, str] | str, Row[Any]]:
    """The stored reports the entries concern, by id and by (originator, origin id)."""
    keys = [key for entry in entries if (key := _key(entry)) is not None]
    ids = {key for key in keys if isinstance(key, str)}
    origins = {key for key in keys if isinstance(key, tuple)}
    if not ids and not origins:
        return {}
    conditions: list[ColumnElement[bool]] = [reports.c.id.in_(ids)] if ids else []
    conditions += [and_(reports.c.originator == by, reports.c.origin_id == item) for by, item in origins]
    rows: list[Row[Any]] = list(connection.execute(select(*_COLUMNS).where(or_(*conditions))))
    found: dict[tuple[str, str] | str, Row[Any]] = {row.id: row for row in rows}
    found |= {(row.originator, row.origin_id): row for row in rows}
    return found


def _event(node: Node, user: User, entry: Entry, items: dict[tuple[str, str] | str, Row[Any]]) -> Event | None:
    """The entry as the user's event, or None when it is not one, or names an item the user may not read."""
    event_type, _duty = TYPES[entry.kind]
    if entry.data.get("duplicate") is True:
        return None  # the same item, request or compromise again: told once
    key = _key(entry)
    row = items.get(key) if key is not None else None
    if row is not None and not user.may_see(row.level_rank, row.compartments):
        return None
    if row is None and not _is_itemless(entry):
        return None  # deny by default: an item that cannot be found cannot be judged
    fields = _FIELDS[event_type](node, entry, row)
    about = {"report": row.id, "title": row.title} if row is not None else {"report": None, "title": None}
    return Event(entry.seq, event_type, {"type": event_type, "at": entry.at} | about | fields)


def _is_itemless(entry: Entry) -> bool:
    return entry.kind == "lifecycle" or (
        entry.kind in {"refused-by-partner", "cancelled"} and entry.data.get("kind") in _ITEMLESS_KINDS
    )


def _received(_node: Node, entry: Entry, row: Row[Any] | None) -> dict[str, Any]:
    data = entry.data
    level = row.level if row is not None else data.get("level")
    precedence = row.precedence if row is not None else None
    return {
        "from": entry.actor,
        "originator": data.get("originator"),
        "level": level,
        "precedence": precedence,
        "under": data.get("under"),
        "route": data.get("route", []),
    }


def _consent_request(node: Node, entry: Entry, _row: Row[Any] | None) -> dict[str, Any]:
    data = entry.data
    incoming = "holder" in data  # asked of this party by a holder; otherwise asked here, of an originator
    return {
        "request": data.get("request"),
        "direction": "incoming" if incoming else "outgoing",
        "holder": data.get("holder") if incoming else node.party,
        "originator": node.party if incoming else data.get("originator"),
        "to": data.get("to"),
        "purpose": data.get("purpose"),
        "requested_by": data.get("requested_by") if incoming else entry.actor,
    }


def _consent_answer(_node: Node, entry: Entry, _row: Row[Any] | None) -> dict[str, Any]:
    data = entry.data
    given = data.get("statement")
    statement: dict[str, Any] = given if isinstance(given, dict) else {}
    return {
        "granted": entry.kind != "consent-refused",
        "by": entry.actor,
        "request": data.get("request"),
        "to": data.get("to", statement.get("to")),
        "arrangement": statement.get("arrangement"),
        "until": statement.get("until"),
        "reason": data.get("reason"),
    }


def _compromise(node: Node, entry: Entry, _row: Row[Any] | None) -> dict[str, Any]:
    data = entry.data
    incoming = data.get("direction") == "incoming"  # reported to this party, as originator (GSOMIA art. 17)
    return {
        "compromise": data.get("compromise"),
        "direction": "incoming" if incoming else "outgoing",
        "reporter": data.get("reporter") if incoming else node.party,
        "reported_by": data.get("reported_by") if incoming else entry.actor,
        "description": data.get("description"),
    }


def _agreement(_node: Node, entry: Entry, _row: Row[Any] | None) -> dict[str, Any]:
    data = entry.data
    return {
        "agreement": entry.subject,
        "act": data.get("type"),
        "by": data.get("by"),
        "effective": data.get("at", entry.at),
    }


def _failed(_node: Node, entry: Entry, _row: Row[Any] | None) -> dict[str, Any]:
    data = entry.data
    return {
        "outcome": "refused" if entry.kind == "refused-by-partner" else "cancelled",
        "envelope": data.get("envelope"),
        "kind": data.get("kind"),
        "to": data.get("to"),
        "reasons": data.get("reasons", []),
    }


_FIELDS: dict[str, Callable[[Node, Entry, Row[Any] | None], dict[str, Any]]] = {
    "report-received": _received,
    "consent-request": _consent_request,
    "consent-answer": _consent_answer,
    "compromise": _compromise,
    "agreement-changed": _agreement,
    "delivery-failed": _failed,
}
