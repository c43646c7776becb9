"""Asking an item's originator for consent to pass it on (GSOMIA art. 6 / R7), and the originator's signed answer.

At a holder, a user asks for the originator's consent to release a received item to a third party: the transfer
is decided at once (and refused, for want of that consent), and the request is stored and sent to the
originator's node (`consent-request`, immediate precedence), which records it for its operator. The operator
grants it, with a signed consent statement (pactnet.services.consents) sent back in a `consent` envelope, on
which the holder's node decides the transfer again and queues it (pactnet.services.releases: the request is
what asks for it), or refuses it with a reason, in a `consent-refused` envelope. Until the grant nothing goes
to the third party, whose node checks again the statement that the transfer carries. docs/federation.md,
"Consent requests", has the payloads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from pactnet.audit.chain import AuditRecord
from pactnet.policy.decisions import decide
from pactnet.policy.precedence import NOTICE_RANK
from pactnet.services import ConflictError, InvalidInputError, NotFoundError, notices
from pactnet.services.answers import acknowledge, refuse_envelope
from pactnet.services.consents import CONSENT, build_statement, held_item
from pactnet.services.notices import INCOMING, MAX_ID, MAX_NAME, MAX_REPORT_ID, MAX_TEXT, OUTGOING, FieldError
from pactnet.services.records import decision_row, decision_summary
from pactnet.services.report_reading import held_row, readable_row
from pactnet.services.reports import check_other_party
from pactnet.store.acts import store_statement
from pactnet.store.instants import instant_text
from pactnet.store.outbox import BY_REQUEST, enqueue
from pactnet.store.tables import consent_requests, decisions

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.policy.decisions import Decision
    from pactnet.services.context import Node
    from pactnet.services.users import User

CONSENT_REQUEST = "consent-request"
CONSENT_REFUSED = "consent-refused"
PENDING = "pending"
GRANTED = "granted"
REFUSED = "refused"
_VIEW = (
    *notices.VIEW_HEAD,
    "holder",
    "to",
    "purpose",
    "state",
    "requested_by",
    "at",
    "answered_at",
    "answered_by",
    "statement",
    "reasons",
)


def _view(data: dict[str, Any], sent: dict[str, dict[str, Any]], title: str) -> dict[str, Any]:
    """A request as the API shows it, with its report's title, and what became of the envelope sent about it."""
    return {name: data[name] for name in _VIEW} | {"report_title": title, "delivery": sent.get(data["envelope"] or "")}


def request_consent(node: Node, user: User | None, report_id: str, to: str, purpose: str) -> dict[str, Any]:
    """As a holder, ask a received item's originator for consent to release it to `to`; the request is queued.

    The transfer to `to` is decided now and recorded, refused. A request that consent could not make useful is
    refused with 409: the transfer is allowed already, consent alone would not allow it (the reasons are in the
    error's details), or the same request is pending. `user` None is the operator (the command line).
    """
    notices.given_text(purpose, "purpose")
    at = node.now()
    when = instant_text(at)
    name = notices.actor(user)

    def write(connection: Connection) -> dict[str, Any]:
        row = _requestable(connection, node, user, report_id, to)
        decision = _wanting_consent(connection, node, row, to, at)
        connection.execute(insert(decisions), decision_row(report_id, node.party, to, when, decision, BY_REQUEST))
        notice = notices.ToOriginator(
            kind=CONSENT_REQUEST,
            rank=NOTICE_RANK,
            table=consent_requests,
            id_name="request",
            payload={"to": to, "purpose": purpose, "requested_by": name},
            columns=_OUTGOING_REQUEST | {"holder": node.party, "to": to, "purpose": purpose, "requested_by": name},
        )
        values = notices.send_to_originator(connection, row, notice, at)
        envelope = values["envelope"]
        data = {
            "request": values["id"],
            "originator": row.originator,
            "to": to,
            "purpose": purpose,
            "envelope": envelope,
        }
        node.audit.append(
            connection,
            when,
            [
                AuditRecord("consent-requested", name, report_id, data),
                AuditRecord("decide", node.party, report_id, decision_summary(to, decision, BY_REQUEST)),
            ],
        )
        return _view(values, notices.deliveries(connection, [envelope]), row.title)

    return node.uow.write(write)


# What a request asked here starts as: pending, unanswered.
_OUTGOING_REQUEST: dict[str, Any] = {
    "state": PENDING,
    "answered_at": None,
    "answered_by": None,
    "statement": None,
    "reasons": [],
}


def _requestable(connection: Connection, node: Node, user: User | None, report_id: str, to: str) -> Row[Any]:
    """The held report a request may be about, for a party it may name; NotFound, InvalidInput or Conflict."""
    row = held_row(connection, user, report_id)
    check_other_party(node, to)
    if row.originator == node.party:
        raise InvalidInputError(
            f"{report_id} originated here: consent to pass it on is {node.party}'s to give "
            f"(POST /api/v1/reports/{report_id}/consents)"
        )
    if to == row.originator:
        raise InvalidInputError(f"to: {to} is the originator of {report_id}: it needs no consent")
    pending = connection.execute(
        select(consent_requests.c.id).where(
            consent_requests.c.report_id == report_id,
            consent_requests.c.to == to,
            consent_requests.c.direction == OUTGOING,
            consent_requests.c.state == PENDING,
        )
    ).first()
    if pending is not None:
        raise ConflictError(f"consent to release {report_id} to {to} was asked already: request {pending.id}")
    return row


def _wanting_consent(connection: Connection, node: Node, row: Row[Any], to: str, at: datetime) -> Decision:
    """The transfer decided now, refused for want of the originator's consent alone; else ConflictError."""
    world = node.refresh(connection)
    item = held_item(node, row)
    decision = decide(world, item, node.party, to, at)
    if decision.allowed:
        route = " → ".join(decision.route)
        raise ConflictError(f"{row.id} may go to {to} already ({route}): no consent is missing")
    assumed = decide(world, item, node.party, to, at, assume_consent=True)
    if not assumed.allowed:
        details = [reason.as_dict() for reason in assumed.reasons]
        raise ConflictError(f"consent alone would not let {row.id} go to {to}", details)
    return decision


def _answerable(connection: Connection, user: User | None, request_id: str) -> tuple[Row[Any], Row[Any]]:
    """A request asked of this party, still pending, and its report; NotFound if the user may not see it."""
    found = connection.execute(select(consent_requests).where(consent_requests.c.id == request_id)).first()
    incoming = found is not None and found.direction == INCOMING
    report = readable_row(connection, user, found.report_id) if found is not None and incoming else None
    if found is None or report is None:
        raise NotFoundError(f"no consent request {request_id!r} to answer")
    if found.state != PENDING:
        raise ConflictError(f"the request {request_id} was {found.state} already, at {found.answered_at}")
    return found, report


def answer_request(
    node: Node, user: User | None, request_id: str, *, grant: bool, reason: str | None, until: datetime | None
) -> dict[str, Any]:
    """As originator, grant a holder's request (a signed consent statement) or refuse it (with a reason).

    Either answer is queued for the holder's node at once. A request already answered is a ConflictError.
    """
    notices.given_text(reason, "reason")
    at = node.now()
    when = instant_text(at)
    name = notices.actor(user)

    def write(connection: Connection) -> dict[str, Any]:
        found, report = _answerable(connection, user, request_id)
        if not grant and reason is None:
            raise InvalidInputError("reason: say why consent is refused")
        if until is not None and (not grant or until <= at):
            raise InvalidInputError(f"until: a granted consent's end, after now ({at.isoformat()})")
        values: dict[str, Any] = {"state": GRANTED if grant else REFUSED, "answered_at": when, "answered_by": name}
        data: dict[str, Any] = {"request": request_id, "holder": found.holder, "to": found.to}
        if grant:
            statement = build_statement(node, found.origin_id, found.to, None, at, until)
            values["statement"] = statement
            payload: dict[str, Any] = {"statement": statement, "request": request_id}
            entry: AuditRecord = AuditRecord("consent-granted", name, found.report_id, data | {"statement": statement})
        else:
            values["reasons"] = notices.reasons(reason or "", "consent-refused")
            payload = {
                "request": request_id,
                "origin_id": found.origin_id,
                "to": found.to,
                "reason": reason,
                "at": at.isoformat(),
            }
            entry = AuditRecord("consent-refused", name, found.report_id, data | {"reason": reason})
        pending = (consent_requests.c.id == request_id, consent_requests.c.state == PENDING)
        if connection.execute(update(consent_requests).where(*pending).values(**values)).rowcount == 0:
            raise ConflictError(f"the request {request_id} was answered meanwhile")
        if grant:
            store_statement(connection, values["statement"], at, until)
            node.refresh(connection)
        kind = CONSENT if grant else CONSENT_REFUSED
        envelope = enqueue(
            connection, kind=kind, recipient=found.holder, payload=payload, rank=NOTICE_RANK, at=at, report_id=report.id
        )
        connection.execute(
            update(consent_requests).where(consent_requests.c.id == request_id).values(envelope=envelope)
        )
        entry[3]["envelope"] = envelope
        node.audit.append(connection, when, [entry])
        answered = found._asdict() | values | {"envelope": envelope}
        return _view(answered, notices.deliveries(connection, [envelope]), report.title)

    return node.uow.write(write)


def list_requests(node: Node, user: User | None, limit: int = 100) -> list[dict[str, Any]]:
    """Consent requests about items the user may see, both directions, newest first; the listing is audited."""

    def write(connection: Connection) -> list[dict[str, Any]]:
        rows = notices.listed(connection, node, user, consent_requests, limit)
        sent = notices.deliveries(connection, [row.envelope for row in rows])
        return [_view(row._asdict(), sent, row.report_title) for row in rows]

    return node.uow.write(write)


def _refuse(
    connection: Connection, node: Node, partner: Partner, opened: Opened, code: str, why: str
) -> dict[str, Any]:
    return refuse_envelope(connection, node, partner, opened, notices.reasons(why, code))


def receive_request(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any]:
    """At the originator: record a holder's request for consent, pending the operator's answer."""
    sender = opened.sender
    limits = {
        "request": MAX_ID,
        "origin_id": MAX_REPORT_ID,
        "to": MAX_ID,
        "purpose": MAX_TEXT,
        "requested_by": MAX_NAME,
    }
    read = notices.read_notice(connection, node.party, opened.payload, limits)
    if isinstance(read, list):
        return refuse_envelope(connection, node, partner, opened, read)
    request_id, origin_id, to, purpose, requested_by = read.texts.values()
    at, report = read.at, read.report
    if to not in node.world.parties or to in (node.party, sender):
        why = f"to: {to!r} is not a third party (a party of the world, neither {node.party} nor {sender})"
        return _refuse(connection, node, partner, opened, "bad-consent-request", why)
    data = {"request": request_id, "holder": sender, "to": to, "purpose": purpose, "requested_by": requested_by}
    data["envelope"] = opened.id
    existing = connection.execute(select(consent_requests).where(consent_requests.c.id == request_id)).first()
    if existing is not None:
        if existing.direction != INCOMING or existing.holder != sender:
            return _refuse(connection, node, partner, opened, "duplicate-id", f"request {request_id} is another's")
        receipt = {"request": request_id, "state": existing.state, "duplicate": True}
        audit: list[AuditRecord] = [AuditRecord("consent-requested", sender, report.id, data | {"duplicate": True})]
        return acknowledge(connection, node, partner, opened, receipt, audit, report.id)
    row = {
        "id": request_id,
        "direction": INCOMING,
        "report_id": report.id,
        "originator": node.party,
        "origin_id": origin_id,
        "holder": sender,
        "to": to,
        "purpose": purpose,
        "state": PENDING,
        "requested_by": requested_by,
        "at": instant_text(at),
        "reasons": [],
    }
    connection.execute(insert(consent_requests), row)
    audit = [AuditRecord("consent-requested", sender, report.id, data)]
    return acknowledge(connection, node, partner, opened, {"request": request_id, "state": PENDING}, audit, report.id)


def _outgoing(connection: Connection, request_id: object, originator: str) -> Any:  # noqa: ANN401 - a Row or None
    if not isinstance(request_id, str) or len(request_id) > MAX_ID:
        return None
    query = select(consent_requests).where(
        consent_requests.c.id == request_id,
        consent_requests.c.direction == OUTGOING,
        consent_requests.c.originator == originator,
    )
    return connection.execute(query).first()


def receive_refusal(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any]:
    """At a holder: the originator refused one of this node's requests; record it, with its reason."""
    try:
        reason = notices.text(opened.payload, "reason", MAX_TEXT)
        at = notices.instant(opened.payload, "at")
    except FieldError as error:
        return _refuse(connection, node, partner, opened, notices.MALFORMED, str(error))
    found = _outgoing(connection, opened.payload.get("request"), opened.sender)
    if found is None:
        why = f"this node asked {opened.sender} no such consent request"
        return _refuse(connection, node, partner, opened, "unknown-request", why)
    if found.state == GRANTED:
        why = f"request {found.id} was granted at {found.answered_at}: a refusal cannot follow"
        return _refuse(connection, node, partner, opened, "request-answered", why)
    data = {"request": found.id, "to": found.to, "reason": reason, "envelope": opened.id}
    if found.state == PENDING:
        values = {
            "state": REFUSED,
            "answered_at": instant_text(at),
            "answered_by": opened.sender,
            "reasons": notices.reasons(reason, "consent-refused"),
        }
        connection.execute(update(consent_requests).where(consent_requests.c.id == found.id).values(**values))
    else:
        data["duplicate"] = True
    audit: list[AuditRecord] = [AuditRecord("consent-refused", opened.sender, found.report_id, data)]
    return acknowledge(
        connection, node, partner, opened, {"request": found.id, "state": REFUSED}, audit, found.report_id
    )
