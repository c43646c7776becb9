"""Publishing and reading reports: every transfer decided at the instant of publication, every access audited."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pactnet.audit.chain import AuditRecord
from pactnet.policy.decisions import Decision, DirectAnswers, decide
from pactnet.policy.model import Report
from pactnet.policy.precedence import NAMES as PRECEDENCES
from pactnet.policy.precedence import is_urgent
from pactnet.services import ForbiddenError, InvalidInputError, ServiceError
from pactnet.services.idempotency import Idempotency, answer_once, keyed_write
from pactnet.services.records import INSERT_CATEGORIES, DecisionForms, category_rows
from pactnet.services.stix_consents import carry_consents
from pactnet.services.stix_index import index_reports
from pactnet.store.bulk import insert_rows
from pactnet.store.identifiers import new_id
from pactnet.store.instants import instant_text
from pactnet.store.outbox import BY_RECIPIENTS, enqueue_transfers, report_payload, transfer_row
from pactnet.store.tables import decisions, reports

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.services.context import Node
    from pactnet.services.users import User


@dataclass(frozen=True, slots=True)
class Publication:
    """What a user asks to publish (already shape-checked by the API or CLI)."""

    title: str
    level: str
    categories: list[str] = field(default_factory=list)
    rel_to: list[str] | None = None
    precedence: str = "routine"
    compartments: list[str] = field(default_factory=list)
    body_type: str = "text"
    body: str = ""
    recipients: list[str] | None = None


def _decision_view(recipient: str, decision: Decision) -> dict[str, Any]:
    return {"to": recipient} | decision.as_dict()


def _check_parties(node: Node, codes: list[str], what: str) -> None:
    unknown = [code for code in codes if code not in node.world.parties]
    if unknown:
        known = ", ".join(node.world.parties)
        raise InvalidInputError(
            f"{what}: unknown part{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)} ({known})"
        )


def _validate(node: Node, user: User, publication: Publication) -> tuple[str, int, list[str]]:
    """The level and its rank in this party's scheme, and the recipients to decide for."""
    party = node.world.parties[node.party]
    level = party.level_of(publication.level)
    if level is None:
        levels = ", ".join([*party.levels, *party.aliases])
        raise InvalidInputError(f"level {publication.level!r} is not a level of {node.party} ({levels})")
    if publication.precedence not in PRECEDENCES:
        raise InvalidInputError(f"precedence {publication.precedence!r}: expected one of {', '.join(PRECEDENCES)}")
    rank = party.rank(level)
    if rank > user.rank or not user.compartments.issuperset(publication.compartments):
        raise ForbiddenError(f"{user.name} is not cleared to publish at {publication.level} with these compartments")
    _check_parties(node, publication.rel_to or [], "rel_to")
    recipients = publication.recipients
    if recipients is None:
        recipients = [code for code in node.world.parties if code != node.party]
    else:
        _check_parties(node, recipients, "recipients")
        if node.party in recipients:
            raise InvalidInputError(f"recipients: {node.party} is this node's own party")
        recipients = list(dict.fromkeys(recipients))
    return level, rank, recipients


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated publication: the policy item, its row, and whom to decide for."""

    item: Report
    row: dict[str, Any]
    recipients: list[str]
    precedence: str
    at: datetime


# What a publication's checks found, by what they read of it (`prepare`'s `checked`).
Checked = dict[tuple[Any, ...], tuple[str, int, list[str]]]


def prepare(node: Node, user: User, publication: Publication, at: datetime, checked: Checked | None = None) -> Prepared:
    """A publication checked (level, precedence, clearance, parties) and made a report; ServiceError if not valid.

    `checked`: the checks passed by earlier publications of the same request, kept by what they read (the objects
    of a TAXII post share a handful of markings); a publication that fails is checked again each time.
    """
    if checked is None:
        level, rank, recipients = _validate(node, user, publication)
    else:
        key = (
            publication.level,
            publication.precedence,
            tuple(publication.compartments),
            None if publication.rel_to is None else tuple(publication.rel_to),
            None if publication.recipients is None else tuple(publication.recipients),
        )
        if key not in checked:
            checked[key] = _validate(node, user, publication)
        level, rank, recipients = checked[key]
    report_id = new_id()
    categories = list(dict.fromkeys(publication.categories))
    rel_to = None if publication.rel_to is None else frozenset(publication.rel_to)
    item = Report(report_id, node.party, publication.level, level, tuple(categories), frozenset(categories), rel_to, at)
    row = {
        "id": report_id,
        "originator": node.party,
        "origin_id": report_id,
        "received_from": None,
        "title": publication.title,
        "level": publication.level,
        "level_rank": rank,
        "precedence": publication.precedence,
        "rel_to": publication.rel_to,
        "compartments": sorted(set(publication.compartments)),
        "categories": categories,
        "body_type": publication.body_type,
        "body": publication.body,
        "created_at": instant_text(at),
        "published_by": user.name,
    }
    return Prepared(item, row, recipients, publication.precedence, at)


def _store(
    node: Node,
    user: User,
    prepared: Prepared,
    decided: list[tuple[str, Decision]],
    rows: _Rows,
) -> list[AuditRecord]:
    """Add one report's rows (the report, its categories, decisions and transfers) to `rows`; its audit records."""
    item, when, forms = prepared.item, prepared.row["created_at"], rows.forms
    rows.reports.append(prepared.row)
    rows.categories += category_rows(item.id, item.categories)
    # The publisher's recipients ask for these transfers; no other party gets the item unless someone asks.
    rows.decisions += [forms.row(item.id, node.party, recipient, when, decision) for recipient, decision in decided]
    payload = report_payload(prepared.row, prepared.row["level"])
    rows.transfers += [
        transfer_row(payload, d, [node.party], item.id, prepared.at, BY_RECIPIENTS, forms.as_dict(d))
        for _, d in decided
        if d.allowed
    ]
    shape = (item.level, item.categories, prepared.precedence)
    published = rows.published.get(shape)
    if published is None:  # one object per shape, whose audit data the log encodes once (store.audit_log)
        published = rows.published[shape] = {"level": shape[0], "categories": list(shape[1]), "precedence": shape[2]}
    return [
        AuditRecord("publish", user.name, item.id, published),
        *(
            AuditRecord("decide", node.party, item.id, forms.summary(recipient, decision))
            for recipient, decision in decided
        ),
    ]


@dataclass
class _Rows:
    """What a publish request inserts, one executemany per table for the whole request (not three per report)."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    # The decisions of a request's reports share a handful of values: their forms are built once per value.
    forms: DecisionForms = field(default_factory=lambda: DecisionForms(BY_RECIPIENTS))
    # The data of the `publish` audit entries, by (level, categories, precedence): shared like the decisions'.
    published: dict[tuple[str, tuple[str, ...], str], dict[str, Any]] = field(default_factory=dict)

    def insert(self, connection: Connection) -> None:
        # A report before its categories and decisions, which name it.
        insert_rows(connection, reports, self.reports)
        if self.categories:
            connection.execute(INSERT_CATEGORIES, self.categories)
        insert_rows(connection, decisions, self.decisions)
        enqueue_transfers(connection, self.transfers)


def publish_many(
    node: Node, user: User, publications: list[Publication], idempotency: Idempotency | None = None
) -> list[dict[str, Any]]:
    """Store reports this party originates, decide every transfer now, and audit it all in one transaction.

    Every allowed transfer is written to the outbox in the same transaction, for the dispatcher to send.
    A flash or immediate report goes ahead of routine work in this process (pactnet.urgency).

    All or nothing: a publication that is not valid refuses the whole request, naming its place.
    With an idempotency key, a request stored already is answered as it was then (pactnet.services.idempotency).
    """
    if idempotency is None:
        return _publish(node, user, publications, None)
    return answer_once(node, user, idempotency, lambda: _publish(node, user, publications, idempotency))


def _publish(
    node: Node, user: User, publications: list[Publication], idempotency: Idempotency | None
) -> list[dict[str, Any]]:
    at = node.now()
    prepared: list[Prepared] = []
    checked: Checked = {}
    for index, publication in enumerate(publications):
        try:
            prepared.append(prepare(node, user, publication, at, checked))
        except ServiceError as error:
            if len(publications) == 1:
                raise
            raise type(error)(f"reports[{index}]: {error.message}", error.details) from error

    def write(connection: Connection) -> list[dict[str, Any]]:
        return keyed_write(
            connection, user, idempotency, at, lambda: _answer(prepared, store(connection, node, user, prepared))
        )

    with urgency_of(node, prepared) as urgent:
        return node.uow.write(write, urgent=urgent)


def _answer(prepared: list[Prepared], outcome: list[list[tuple[str, Decision]]]) -> list[dict[str, Any]]:
    """What publishing answers: each report's id, when it was created, and its decisions."""
    return [
        {
            "id": one.item.id,
            "created_at": one.row["created_at"],
            "decisions": [_decision_view(recipient, decision) for recipient, decision in decided],
        }
        for one, decided in zip(prepared, outcome, strict=True)
    ]


@contextmanager
def urgency_of(node: Node, prepared: list[Prepared]) -> Iterator[bool]:
    """Whether a write of these reports is urgent; while it runs, a flash or immediate one is work in hand."""
    if any(is_urgent(one.precedence) for one in prepared):
        with node.uow.urgency.running():
            yield True
    else:
        yield False


def store(connection: Connection, node: Node, user: User, prepared: list[Prepared]) -> list[list[tuple[str, Decision]]]:
    """In the caller's write: store prepared reports, decide and queue every transfer, audit it all.

    The decisions of each report, by recipient, in order.
    """
    at = prepared[0].at if prepared else node.now()
    # A new version of a STIX object holds the consents of the earlier ones: granted before the world is read.
    audit: list[AuditRecord] = carry_consents(connection, node, [one.row for one in prepared], at)
    world = node.refresh(connection)
    outcome = []
    rows = _Rows()
    direct: DirectAnswers = {}  # the reports share a handful of levels and categories: decided directly once each
    for one in prepared:
        decided = [(r, decide(world, one.item, node.party, r, one.at, direct=direct)) for r in one.recipients]
        audit += _store(node, user, one, decided, rows)
        outcome.append(decided)
    rows.insert(connection)
    index_reports(connection, node.party, rows.reports, instant_text(at))
    node.audit.append(connection, instant_text(at), audit)
    return outcome


def preview(node: Node, user: User, publication: Publication) -> list[dict[str, Any]]:
    """The decisions publishing would take now, one per recipient, with nothing stored, sent or audited.

    Validated exactly as `publish` validates (level, precedence, clearance, parties); the decisions may differ
    from those taken when the report is published, if the world changes in between.
    """
    item = prepare(node, user, publication, node.now())
    with node.uow.read() as connection:
        world = node.refresh(connection)
    return [_decision_view(r, decide(world, item.item, node.party, r, item.at)) for r in item.recipients]


def publish(node: Node, user: User, publication: Publication, idempotency: Idempotency | None = None) -> dict[str, Any]:
    """Store one report this party originates, with its decisions and audit entries, in one transaction."""
    return publish_many(node, user, [publication], idempotency)[0]


def check_other_party(node: Node, to: str) -> None:
    """InvalidInputError unless `to` is a party of this world other than this node's (to pass an item on to)."""
    if to not in node.world.parties or to == node.party:
        others = ", ".join(code for code in node.world.parties if code != node.party)
        raise InvalidInputError(f"to: {to!r} is not another party of this world ({others})")
