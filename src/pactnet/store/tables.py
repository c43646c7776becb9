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
# 64-bit sequence numbers on PostgreSQL; SQLite's rowid is already 64-bit and must be declared INTEGER.
SEQ = BigInteger().with_variant(Integer, "sqlite")


def _sequence() -> Column[Any]:
    """The row's key: a number the database gives it, in the order rows are written."""
    return Column("seq", SEQ, primary_key=True, autoincrement=True)


def _report_ref(*, unique: bool | None = None) -> Column[Any]:
    """The report a row is about; it goes with the report."""
    return Column("report_id", String(64), ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, unique=unique)


def _signature_columns() -> list[Column[Any]]:
    """A signed head of an audit log: the hash of its last entry, when, and the key that signed it and how."""
    return [
        Column("hash", String(64), nullable=False),
        Column("at", INSTANT, nullable=False),
        Column("key", String(64), nullable=False),
        Column("signature", String(128), nullable=False),
    ]


reports = Table(
    "reports",
    metadata,
    _sequence(),
    Column("id", String(64), nullable=False, unique=True),
    Column("originator", String(64), nullable=False),
    Column("origin_id", String(200), nullable=False),
    Column("received_from", String(64)),
    Column("title", String(500), nullable=False),
    Column("level", String(100), nullable=False),
    Column("level_rank", Integer, nullable=False),
    Column("precedence", String(16), nullable=False),
    Column("rel_to", JSON),
    Column("compartments", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("body_type", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", INSTANT, nullable=False),
    Column("published_by", String(100)),
    # A received item's level in its originator's scheme, as the originator marked it: what a relay passes on.
    Column("origin_level", String(100)),
    Index("ix_reports_originator_seq", "originator", "seq"),
    # One copy per item: a receiver finds an item it already holds by this, and on PostgreSQL two workers
    # receiving the same item under different envelopes cannot both store it.
    Index("ix_reports_origin", "originator", "origin_id", unique=True),
    Index("ix_reports_created_at", "created_at"),
)

report_categories = Table(
    "report_categories",
    metadata,
    Column("report_seq", SEQ, ForeignKey("reports.seq", ondelete="CASCADE"), primary_key=True),
    Column("category", String(100), primary_key=True),
    Index("ix_report_categories_category", "category", "report_seq"),
)

decisions = Table(
    "decisions",
    metadata,
    _sequence(),
    _report_ref(),
    Column("holder", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("at", INSTANT, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("route", JSON, nullable=False),
    Column("legs", JSON, nullable=False),
    Column("marking", JSON),
    Column("reasons", JSON, nullable=False),
    # Who asked for the transfer at the holder: the publisher's `recipients`, a `consent-request`, or a user's
    # `release` (a consent permits a transfer, it never asks for one: docs/federation.md, "Who asks").
    Column("asked_by", String(32), nullable=False, server_default="recipients"),
    Index("ix_decisions_report_id", "report_id", "seq"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("clearance", String(100), nullable=False),
    Column("compartments", JSON, nullable=False),
    # The user's roles (services.roles): what the user may do, as the clearance says what the user may read.
    Column("roles", JSON, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", INSTANT, nullable=False),
)

# The console's sessions (pactnet.services.sessions): the SHA-256 of the id the browser holds, never the id.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", INSTANT, nullable=False),
    Column("expires_at", INSTANT, nullable=False, index=True),
    # The secret every form of the session carries back (OWASP CSRF cheat sheet: synchronizer token).
    Column("csrf", String(64), nullable=False),
)

lifecycle_acts = Table(
    "lifecycle_acts",
    metadata,
    _sequence(),
    Column("agreement", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("by", String(64), nullable=False),
    Column("at", INSTANT, nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

# Consents of originators (GSOMIA art. 6) to release or relay one of their items: granted here for this
# party's own reports, or received signed from the originator's node. Each becomes a `grant_consent` event of
# the node's world; `statement` is the signed document (pactnet.services.consents) passed on with the item.
consents = Table(
    "consents",
    metadata,
    _sequence(),
    Column("id", String(64), nullable=False, unique=True),
    Column("originator", String(64), nullable=False),
    Column("report", String(200), nullable=False),
    Column("to", String(64)),
    Column("arrangement", String(200)),
    Column("at", INSTANT, nullable=False),
    Column("until", INSTANT),
    Column("statement", JSON, nullable=False),
    Index("ix_consents_report", "originator", "report"),
)

# Every envelope from a partner that was opened (its signature verified) and answered: a replay is answered
# with the same signed receipt or refusal, and never stored twice. Forged envelopes are not recorded here, so
# that no one but the sender can claim an envelope id.
envelopes = Table(
    "envelopes",
    metadata,
    Column("id", String(200), primary_key=True, autoincrement=False),
    Column("sender", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("received_at", INSTANT, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("report_id", String(64)),
    Column("reasons", JSON, nullable=False),
    Column("answer", JSON, nullable=False),
)

# Everything this node has to send to a partner node: written in the same transaction as what caused it (a
# published report, a relayed item, a lifecycle act), so nothing accepted is lost, and sent by the dispatcher
# (pactnet.federation.dispatcher). `envelope_id` is fixed when the row is written: a resend after a crash
# carries the same id, and the receiver answers it as a replay, so nothing is delivered twice.
outbox = Table(
    "outbox",
    metadata,
    _sequence(),
    Column("envelope_id", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("final", String(64), nullable=False),
    Column("report_id", String(64)),
    Column("under", String(200)),
    Column("rank", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", INSTANT, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", INSTANT),
    Column("created_at", INSTANT, nullable=False),
    Column("settled_at", INSTANT),
    Column("last_error", Text),
    Column("outcome", JSON),
    Column("answer", JSON),
    # Who asked for a transfer (as in `decisions`); None for envelopes that are not transfers.
    Column("asked_by", String(32)),
    Index("ix_outbox_due", "state", "rank", "seq"),
    Index("ix_outbox_report_id", "report_id"),
)


def _notice_columns() -> list[Column[Any]]:
    """What every notice to an item's originator records first: its id, which way it went, and the item."""
    return [
        _sequence(),
        Column("id", String(64), nullable=False, unique=True),
        Column("direction", String(16), nullable=False),
        _report_ref(),
        Column("originator", String(64), nullable=False),
        Column("origin_id", String(200), nullable=False),
    ]


# Requests for an originator's consent to pass one of its items on to a third party (GSOMIA art. 6): made at a
# holder (`outgoing`, sent to the originator's node) and recorded there (`incoming`) for its operator to answer,
# granted with a signed statement or refused with reasons (pactnet.services.consent_requests). `report_id` is
# this node's copy of the item; `envelope` is the envelope this node sent about it (the request, or its answer).
consent_requests = Table(
    "consent_requests",
    metadata,
    *_notice_columns(),
    Column("holder", String(64), nullable=False),
    Column("to", String(64), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("at", INSTANT, nullable=False),
    Column("answered_at", INSTANT),
    Column("answered_by", String(100)),
    Column("statement", JSON),
    Column("reasons", JSON, nullable=False),
    Column("envelope", String(200)),
    Index("ix_consent_requests_item", "originator", "origin_id"),
)

# Losses and compromises of items (GSOMIA art. 17), reported at a holder (`outgoing`, sent to the originator's
# node at flash precedence) and recorded at the originator (`incoming`) (pactnet.services.compromises).
# `envelope` is the envelope sent (outgoing) or received (incoming).
compromises = Table(
    "compromises",
    metadata,
    *_notice_columns(),
    Column("reporter", String(64), nullable=False),
    Column("reported_by", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("at", INSTANT, nullable=False),
    Column("recorded_at", INSTANT, nullable=False),
    Column("envelope", String(200)),
    Index("ix_compromises_item", "originator", "origin_id"),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("at", INSTANT, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("data", Text, nullable=False),
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_entries_kind_seq", "kind", "seq"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    *_signature_columns(),
)

# One row: the signed head of the audit log, renewed in every write transaction. Writers lock it, which also
# serialises appends to the chain across API workers on PostgreSQL.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", SEQ, nullable=False),
    *_signature_columns(),
)

# As a witness of its partners' audit logs: the last signed head of each partner's log it was given, which the
# partner's `pactnet audit verify --witnesses` compares its log with (docs/audit.md, "Witnesses").
audit_witnessed = Table(
    "audit_witnessed",
    metadata,
    Column("party", String(64), primary_key=True, autoincrement=False),
    Column("seq", SEQ, nullable=False),
    *_signature_columns(),
    Column("received_at", INSTANT, nullable=False),
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
    Column("stix_id", String(300), nullable=False),
    Column("type", String(250), nullable=False),
    Column("spec_version", String(8), nullable=False),
    # The object's version (TAXII 2.1 §3.6: `modified`, else `created`, else the date it was added).
    Column("version", INSTANT, nullable=False),
    Column("date_added", INSTANT, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("originator", String(64), nullable=False),
    Column("received_from", String(64)),
    Column("level_rank", Integer, nullable=False),
    Column("compartments", JSON, nullable=False),
    Column("marking_ref", String(64), nullable=False),
    Column("object", Text, nullable=False),
    Index("ix_stix_objects_added", "date_added", "seq"),
    Index("ix_stix_objects_stix_id", "stix_id", "version"),
    Index("ix_stix_objects_originator_added", "originator", "date_added", "seq"),
    Index("ix_stix_objects_received_added", "received_from", "date_added", "seq"),
)

# The marking-definitions this node serves its STIX objects with (pactnet.stix.marking.held_marking_definition):
# one row per distinct marking, fetched by id from a collection holding an object that uses it.
stix_markings = Table(
    "stix_markings",
    metadata,
    Column("id", String(64), primary_key=True, autoincrement=False),
    Column("definition", Text, nullable=False),
)

# The status of each envelope posted to the TAXII server (TAXII 2.1 §4.3), kept so that a client polls it after
# a restart too; only the user who posted it may read it.
taxii_statuses = Table(
    "taxii_statuses",
    metadata,
    Column("id", String(64), primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("request_timestamp", INSTANT, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("successes", JSON, nullable=False),
    Column("failures", JSON, nullable=False),
    Column("pendings", JSON, nullable=False),
)
