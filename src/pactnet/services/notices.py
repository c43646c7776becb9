"""What consent requests and compromise reports share: reading their payloads, who acts, what a user may list.

A payload field that is not right is refused with `malformed-payload` and its name, as for a transfer
(pactnet.services.inbound). Kept apart from `inbound`, which imports the handlers of these notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from pactnet.audit.chain import AuditRecord
from pactnet.errors import PayloadError
from pactnet.policy.clock import parse_instant
from pactnet.services import InvalidInputError
from pactnet.store.identifiers import new_id
from pactnet.store.instants import instant_text
from pactnet.store.outbox import enqueue
from pactnet.store.reports import item_by_origin, newest_cleared
from pactnet.store.tables import outbox, reports

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row, Table

    from pactnet.services.context import Node
    from pactnet.services.users import User

MALFORMED = "malformed-payload"
MAX_ID = 64
MAX_REPORT_ID = 200
MAX_NAME = 100
MAX_TEXT = 4000
# The fields every notice to an originator shows first (as the tables store them first): its id, which way it
# went, and the item.
VIEW_HEAD = ("id", "direction", "report_id", "originator", "origin_id")
INCOMING = "incoming"
OUTGOING = "outgoing"
# Who acts when no user does: the operator at the command line, who holds the node's folder (its keys and its
# database) and so may see every item (as `pactnet user add` records its acts).
OPERATOR = "cli"


class FieldError(PayloadError):
    """A notice's field that is missing or not right; the message names it (refused as `malformed-payload`)."""

    def __init__(self, message: str) -> None:
        super().__init__(MALFORMED, message)


def text(payload: dict[str, Any], name: str, limit: int) -> str:
    """A text of 1 to `limit` characters, without NUL (PostgreSQL text cannot hold it)."""
    value = payload.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise FieldError(f"{name}: expected a text of 1 to {limit} characters")
    return value


def given_text(value: str | None, name: str) -> None:
    """Check a text a user gives (a purpose, a reason, a description), if given: 1 to MAX_TEXT characters, no NUL."""
    if value is not None and (not value.strip() or len(value) > MAX_TEXT or "\x00" in value):
        raise InvalidInputError(f"{name}: expected a text of 1 to {MAX_TEXT} characters, not only spaces, without NUL")


def instant(payload: dict[str, Any], name: str) -> datetime:
    """An RFC 3339 instant with an offset."""
    value = payload.get(name)
    if not isinstance(value, str):
        raise FieldError(f"{name}: expected an RFC 3339 instant with an offset")
    try:
        return parse_instant(value)
    except ValueError as error:
        raise FieldError(f"{name}: expected {error}") from error


def reasons(message: str, code: str = MALFORMED) -> list[dict[str, str]]:
    """The reasons of a refusal that has one."""
    return [{"code": code, "message": message}]


@dataclass(frozen=True, slots=True)
class NoticeRead:
    """A notice received at the originator: its texts by name, its instant, and the item it names."""

    texts: dict[str, str]
    at: datetime
    report: Row[Any]


def read_notice(
    connection: Connection, party: str, payload: dict[str, Any], limits: dict[str, int]
) -> NoticeRead | list[dict[str, str]]:
    """A notice to `party`, read; or the reasons to refuse it.

    Its texts are each of 1 to their limit characters, read in the order given; the item its `origin_id` names
    must be one `party` originated.
    """
    try:
        texts = {name: text(payload, name, limit) for name, limit in limits.items()}
        at = instant(payload, "at")
    except FieldError as error:
        return reasons(str(error))
    report = item_by_origin(connection, party, texts["origin_id"])
    if report is None:
        return reasons(f"{party} originated no {texts['origin_id']}", "unknown-report")
    return NoticeRead(texts, at, report)


def actor(user: User | None) -> str:
    """The name audited for an act: the user's, or the operator's."""
    return OPERATOR if user is None else user.name


def visible(connection: Connection, user: User | None, table: Table, limit: int) -> list[Row[Any]]:
    """The newest rows of `table` (which has a `report_id`) about reports the user may see, at most `limit`."""
    query = (
        select(table, reports.c.compartments.label("report_compartments"), reports.c.title.label("report_title"))
        .join(reports, reports.c.id == table.c.report_id)
        .order_by(table.c.seq.desc())
    )
    return newest_cleared(connection, query, user, limit)


def listed(connection: Connection, node: Node, user: User | None, table: Table, limit: int) -> list[Row[Any]]:
    """The newest notices of `table` the user may see (as `visible`); the listing is audited, with what it returned."""
    rows = visible(connection, user, table, limit)
    returned = {"returned": [row.id for row in rows]}
    listing = table.name.replace("_", "-")  # the audit's name of the listing: compromises, consent-requests
    node.audit.append(connection, instant_text(node.now()), [AuditRecord("list", actor(user), listing, returned)])
    return rows


def deliveries(connection: Connection, envelope_ids: list[str | None]) -> dict[str, dict[str, Any]]:
    """What became of envelopes this node sent, from its outbox, by envelope id."""
    wanted = [one for one in envelope_ids if one]
    if not wanted:
        return {}
    rows = connection.execute(select(outbox).where(outbox.c.envelope_id.in_(wanted)))
    return {
        row.envelope_id: {
            "envelope": row.envelope_id,
            "to": row.recipient,
            "state": row.state,
            "attempts": row.attempts,
            "settled_at": row.settled_at,
            "last_error": row.last_error,
            "reasons": (row.outcome or {}).get("reasons", []),
        }
        for row in rows
    }


@dataclass(frozen=True, slots=True)
class ToOriginator:
    """A notice a holder sends the originator of an item it holds: a consent request, or a compromise report.

    `payload` is what the notice says beyond its id, the item's origin id and its instant; `columns` what the
    holder's record of it keeps beyond the columns both records share.
    """

    kind: str
    rank: int
    table: Table
    id_name: str
    payload: dict[str, Any]
    columns: dict[str, Any]


def send_to_originator(connection: Connection, row: Row[Any], notice: ToOriginator, at: datetime) -> dict[str, Any]:
    """Queue the notice for the originator of the held report `row`, and record it; the record's values."""
    notice_id = new_id()
    payload = {notice.id_name: notice_id, "origin_id": row.origin_id, **notice.payload, "at": at.isoformat()}
    envelope = enqueue(
        connection,
        kind=notice.kind,
        recipient=row.originator,
        payload=payload,
        rank=notice.rank,
        at=at,
        report_id=row.id,
    )
    values = {
        "id": notice_id,
        "direction": OUTGOING,
        "report_id": row.id,
        "originator": row.originator,
        "origin_id": row.origin_id,
        **notice.columns,
        "at": instant_text(at),
        "envelope": envelope,
    }
    connection.execute(insert(notice.table), values)
    return values
