"""The node's tables (SQLAlchemy Core): reports, decisions, users, acts, consents, envelopes, outbox, audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# Constraint names are fixed so that migrations are the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Instants are stored as RFC 3339 UTC text with a fixed width ("2019-11-23T00:00:00.000000Z"), so that they
# sort as text the same way on both databases and read back exactly.
INSTANT = String(27)
# Text columns named for what they hold, so that a declaration says what a column is and the same thing is
# as wide in every table.
PARTY = String(64)  # a party's code
TOKEN = String(64)  # an id this node made (uuid4 hex), a key's fingerprint or a SHA-256, in hex
ITEM_ID = String(200)  # an id a partner or a world chose: an item's id at its originator, a pact's, an envelope's
NAME = String(100)  # a user's name, a level or a category
KIND = String(32)  # the kind of an act, an envelope or an audit entry, or who asked for a transfer
STATE = String(16)  # one word of a short list: a state, an outcome, a direction, a precedence, a body type
# 64-bit sequence numbers on PostgreSQL; SQLite's rowid is already 64-bit and must be declared INTEGER.
SEQ = BigInteger().with_variant(Integer, "sqlite")


def _required(name: str, *parts: Any, **options: Any) -> Column[Any]:  # noqa: ANN401 - Column's own arguments
    """A column every row has a value in (NOT NULL); a plain `Column` may be empty."""
    return Column(name, *parts, nullable=False, **options)


def _given_key(name: str, kind: Any) -> Column[Any]:  # noqa: ANN401 - any column type
    """The row's key, given by what writes the row (an id, a party, a sequence number): never generated."""
    return Column(name, kind, primary_key=True, autoincrement=False)


def _sequence() -> Column[Any]:
    """The row's key: a number the database gives it, in the order rows are written."""
    return Column("seq", SEQ, primary_key=True, autoincrement=True)


def _sequence_and_id(name: str = "id") -> list[Column[Any]]:
    """The row's key, in the order rows are written, and the id this node gave it (`name`), by which it is named."""
    return [_sequence(), _required(name, TOKEN, unique=True)]


def _report_ref(*, unique: bool | None = None) -> Column[Any]:
    """The report a row is about; it goes with the report."""
    return _required("report_id", TOKEN, ForeignKey("reports.id", ondelete="CASCADE"), unique=unique)


def _item_columns(item_id: str, index: str, *, unique: bool = False) -> list[Column[Any] | Index]:
    """The item a row is about as its originator names it: the originator and the item's id there (`item_id`).

    The two are indexed together (`index`): a row is found by the item a partner's envelope or notice names.
    """
    return [
        _required("originator", PARTY),
        _required(item_id, ITEM_ID),
        Index(index, "originator", item_id, unique=unique),
    ]


def _signature_columns() -> list[Column[Any]]:
    """A signed point of an audit log: the hash of its entry there, when, and the key that signed it and how."""
    return [
        _required("hash", TOKEN),
        _required("at", INSTANT),
        _required("key", TOKEN),
        _required("signature", String(128)),
    ]


def _signed_head_columns() -> list[Column[Any]]:
    """A signed head of an audit log, this node's own or one a witness holds: its last entry's number, signed."""
    return [_required("seq", SEQ), *_signature_columns()]


reports = Table(
    "reports",
    metadata,
    *_sequence_and_id(),
    # One copy per item: a receiver finds an item it already holds by this index, and on PostgreSQL two workers
    # receiving the same item under different envelopes cannot both store it.
    *_item_columns("origin_id", "ix_reports_origin", unique=True),
    Column("received_from", PARTY),
    _required("title", String(500)),
    _required("level", NAME),
    _required("level_rank", Integer),
    _required("precedence", STATE),
    Column("rel_to", JSON),
    _required("compartments", JSON),
    _required("categories", JSON),
    _required("body_type", STATE),
    _required("body", Text),
    _required("created_at", INSTANT),
    Column("published_by", NAME),
    # A received item's level in its originator's scheme, as the originator marked it: what a relay passes on.
    Column("origin_level", NAME),
    Index("ix_reports_originator_seq", "originator", "seq"),
    Index("ix_reports_created_at", "created_at"),
)

report_categories = Table(
    "report_categories",
    metadata,
    Column("report_seq", SEQ, ForeignKey("reports.seq", ondelete="CASCADE"), primary_key=True),
    Column("category", NAME, primary_key=True),
    Index("ix_report_categories_category", "category", "report_seq"),
)

decisions = Table(
    "decisions",
    metadata,
    _sequence(),
    _report_ref(),
    _required("holder", PARTY),
    _required("recipient", PARTY),
    _required("at", INSTANT),
    _required("allowed", Boolean),
    _required("route", JSON),
    _required("legs", JSON),
    Column("marking", JSON),
    _required("reasons", JSON),
    # Who asked for the transfer at the holder: the publisher's `recipients`, a `consent-request`, or a user's
    # `release` (a consent permits a transfer, it never asks for one: docs/federation.md, "Who asks").
    _required("asked_by", KIND, server_default="recipients"),
    Index("ix_decisions_report_id", "report_id", "seq"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _required("name", NAME, unique=True),
    _required("clearance", NAME),
    _required("compartments", JSON),
    # The user's roles (services.roles): what the user may do, as the clearance says what the user may read.
    _required("roles", JSON),
    _required("token_hash", TOKEN, unique=True),
    _required("disabled", Boolean, default=False),
    _required("created_at", INSTANT),
)

# The console's sessions (pactnet.services.sessions): the SHA-256 of the id the browser holds, never the id.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", TOKEN, primary_key=True),
    _required("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    _required("created_at", INSTANT),
    _required("expires_at", INSTANT, index=True),
    # The secret every form of the session carries back (OWASP CSRF cheat sheet: synchronizer token).
    _required("csrf", TOKEN),
)

# The answers to publish requests sent with an Idempotency-Key (pactnet.services.idempotency): a retry with the
# same key, by the same user, is answered as the first request was instead of publishing a second copy. The row is
# written in the publish's own transaction; `fingerprint` (SHA-256 of the request) refuses the key with another.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    _given_key("key", String(255)),
    _required("fingerprint", TOKEN),
    _required("answer", Text),
    _required("created_at", INSTANT, index=True),
)

lifecycle_acts = Table(
    "lifecycle_acts",
    metadata,
    _sequence(),
    _required("agreement", ITEM_ID),
    _required("type", KIND),
    _required("by", PARTY),
    _required("at", INSTANT),
    _required("recorded_by", NAME),
)

# Consents of originators (GSOMIA art. 6) to release or relay one of their items: granted here for this
# party's own reports, or received signed from the originator's node. Each becomes a `grant_consent` event of
# the node's world; `statement` is the signed document (pactnet.services.consents) passed on with the item.
consents = Table(
    "consents",
    metadata,
    *_sequence_and_id(),
    *_item_columns("report", "ix_consents_report"),
    Column("to", PARTY),
    Column("arrangement", ITEM_ID),
    _required("at", INSTANT),
    Column("until", INSTANT),
    _required("statement", JSON),
)

# Every envelope from a partner that was opened (its signature verified) and answered: a replay is answered
# with the same signed receipt or refusal, and never stored twice. Forged envelopes are not recorded here, so
# that no one but the sender can claim an envelope id.
envelopes = Table(
    "envelopes",
    metadata,
    _given_key("id", ITEM_ID),
    _required("sender", PARTY),
    _required("kind", KIND),
    _required("received_at", INSTANT),
    _required("outcome", STATE),
    Column("report_id", TOKEN),
    _required("reasons", JSON),
    _required("answer", JSON),
)

# Everything this node has to send to a partner node: written in the same transaction as what caused it (a
# published report, a relayed item, a lifecycle act), so nothing accepted is lost, and sent by the dispatcher
# (pactnet.federation.dispatcher). `envelope_id` is fixed when the row is written: a resend after a crash
# carries the same id, and the receiver answers it as a replay, so nothing is delivered twice.
outbox = Table(
    "outbox",
    metadata,
    *_sequence_and_id("envelope_id"),
    _required("kind", KIND),
    _required("recipient", PARTY),
    _required("final", PARTY),
    Column("report_id", TOKEN),
    Column("under", ITEM_ID),
    _required("rank", Integer),
    _required("payload", JSON),
    _required("state", STATE),
    _required("attempts", Integer),
    _required("next_at", INSTANT),
    Column("lease_owner", TOKEN),
    Column("lease_until", INSTANT),
    _required("created_at", INSTANT),
    Column("settled_at", INSTANT),
    Column("last_error", Text),
    Column("outcome", JSON),
    Column("answer", JSON),
    # Who asked for a transfer (as in `decisions`); None for envelopes that are not transfers.
    Column("asked_by", KIND),
    Index("ix_outbox_due", "state", "rank", "seq"),
    Index("ix_outbox_report_id", "report_id"),
)


def _notice_columns(table: str) -> list[Column[Any] | Index]:
    """What every notice to an item's originator records first: its id, which way it went, and the item.

    The item is found by its originator's id, as a notice names it (`ix_<table>_item`).
    """
    return [
        *_sequence_and_id(),
        _required("direction", STATE),
        _report_ref(),
        *_item_columns("origin_id", f"ix_{table}_item"),
    ]


# Requests for an originator's consent to pass one of its items on to a third party (GSOMIA art. 6): made at a
# holder (`outgoing`, sent to the originator's node) and recorded there (`incoming`) for its operator to answer,
# granted with a signed statement or refused with reasons (pactnet.services.consent_requests). `report_id` is
# this node's copy of the item; `envelope` is the envelope this node sent about it (the request, or its answer).
consent_requests = Table(
    "consent_requests",
    metadata,
    *_notice_columns("consent_requests"),
    _required("holder", PARTY),
    _required("to", PARTY),
    _required("purpose", Text),
    _required("state", STATE),
    _required("requested_by", NAME),
    _required("at", INSTANT),
    Column("answered_at", INSTANT),
    Column("answered_by", NAME),
    Column("statement", JSON),
    _required("reasons", JSON),
    Column("envelope", ITEM_ID),
)

# Losses and compromises of items (GSOMIA art. 17), reported at a holder (`outgoing`, sent to the originator's
# node at flash precedence) and recorded at the originator (`incoming`) (pactnet.services.compromises).
# `envelope` is the envelope sent (outgoing) or received (incoming).
compromises = Table(
    "compromises",
    metadata,
    *_notice_columns("compromises"),
    _required("reporter", PARTY),
    _required("reported_by", NAME),
    _required("description", Text),
    _required("at", INSTANT),
    _required("recorded_at", INSTANT),
    Column("envelope", ITEM_ID),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    _given_key("seq", SEQ),
    _required("at", INSTANT),
    _required("kind", KIND),
    _required("actor", NAME),
    _required("subject", ITEM_ID),
    _required("data", Text),
    _required("prev", TOKEN),
    _required("hash", TOKEN),
    Index("ix_audit_entries_kind_seq", "kind", "seq"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    _given_key("seq", SEQ),
    *_signature_columns(),
)

# One row: the signed head of the audit log, renewed in every write transaction. Writers lock it, which also
# serialises appends to the chain across API workers on PostgreSQL.
audit_head = Table(
    "audit_head",
    metadata,
    _given_key("id", Integer),
    *_signed_head_columns(),
)

# As a witness of its partners' audit logs: the last signed head of each partner's log it was given, which the
# partner's `pactnet audit verify --witnesses` compares its log with (docs/audit.md, "Witnesses").
audit_witnessed = Table(
    "audit_witnessed",
    metadata,
    _given_key("party", PARTY),
    *_signed_head_columns(),
    _required("received_at", INSTANT),
)

# The marking-definitions this node serves its STIX objects with (pactnet.stix.marking.held_marking_definition):
# one row per distinct marking, fetched by id from a collection holding an object that uses it.
stix_markings = Table(
    "stix_markings",
    metadata,
    _given_key("id", TOKEN),
    _required("definition", Text),
)

# The STIX 2.1 objects this node holds, one per report whose body is one STIX object (body_type "stix-object"):
# published here or received from a partner. The TAXII server (pactnet.taxii) reads its collections from this
# index alone: `object` is the object as this node serves it (marked with the holder's marking-definition,
# `marking_ref`), and a page is a range of (date_added, seq) (TAXII 2.1 §3.4), so reads stay fast at any size.
# `level_rank` and `compartments` are the report's, so that what a user may read is filtered without a join.
stix_objects = Table(
    "stix_objects",
    metadata,
    _sequence(),
    _report_ref(unique=True),
    _required("stix_id", String(300)),
    _required("type", String(250)),
    _required("spec_version", String(8)),
    # The object's version (TAXII 2.1 §3.6: `modified`, else `created`, else the date it was added).
    _required("version", INSTANT),
    _required("date_added", INSTANT),
    _required("revoked", Boolean),
    _required("originator", PARTY),
    Column("received_from", PARTY),
    _required("level_rank", Integer),
    _required("compartments", JSON),
    _required("marking_ref", TOKEN),
    _required("object", Text),
    Index("ix_stix_objects_added", "date_added", "seq"),
    Index("ix_stix_objects_stix_id", "stix_id", "version"),
    Index("ix_stix_objects_originator_added", "originator", "date_added", "seq"),
    Index("ix_stix_objects_received_added", "received_from", "date_added", "seq"),
)

# The status of each envelope posted to the TAXII server (TAXII 2.1 §4.3), kept so that a client polls it after
# a restart too; only the user who posted it may read it.
taxii_statuses = Table(
    "taxii_statuses",
    metadata,
    _given_key("id", TOKEN),
    _required("user_id", Integer),
    _required("status", STATE),
    _required("request_timestamp", INSTANT),
    _required("total_count", Integer),
    _required("successes", JSON),
    _required("failures", JSON),
    _required("pendings", JSON),
)
