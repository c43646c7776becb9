"""The TAXII server's storage: the index of STIX objects, the marking-definitions served, envelope statuses.

Reports whose body is one STIX 2.1 object are indexed by object id, version and date added (issue 15), so that
a TAXII page or an object by id is one index range, whatever the number of objects held. Reports stored before
this revision hold no such body (the body types were text and whole bundles), so nothing is back-filled.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.String(length=27)


def upgrade() -> None:
    op.create_table(
        "stix_objects",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("stix_id", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=250), nullable=False),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("version", _INSTANT, nullable=False),
        sa.Column("date_added", _INSTANT, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("originator", sa.String(length=64), nullable=False),
        sa.Column("received_from", sa.String(length=64), nullable=True),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("compartments", sa.JSON(), nullable=False),
        sa.Column("marking_ref", sa.String(length=64), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_stix_objects_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stix_objects")),
        sa.UniqueConstraint("report_id", name=op.f("uq_stix_objects_report_id")),
    )
    op.create_index("ix_stix_objects_added", "stix_objects", ["date_added", "seq"])
    op.create_index("ix_stix_objects_stix_id", "stix_objects", ["stix_id", "version"])
    op.create_index("ix_stix_objects_originator_added", "stix_objects", ["originator", "date_added", "seq"])
    op.create_index("ix_stix_objects_received_added", "stix_objects", ["received_from", "date_added", "seq"])
    op.create_table(
        "stix_markings",
        sa.Column("id", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stix_markings")),
    )
    op.create_table(
        "taxii_statuses",
        sa.Column("id", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request_timestamp", _INSTANT, nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("successes", sa.JSON(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("pendings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_statuses")),
    )


def downgrade() -> None:
    op.drop_table("taxii_statuses")
    op.drop_table("stix_markings")
    op.drop_table("stix_objects")
