"""Consent requests to originators (GSOMIA art. 6) and reports of loss or compromise (art. 17).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consent_requests",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("originator", sa.String(length=64), nullable=False),
        sa.Column("origin_id", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("to", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("answered_at", sa.String(length=27), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("statement", sa.JSON(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("envelope", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_consent_requests_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_requests")),
        sa.UniqueConstraint("id", name=op.f("uq_consent_requests_id")),
    )
    op.create_index("ix_consent_requests_item", "consent_requests", ["originator", "origin_id"])
    op.create_table(
        "compromises",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("originator", sa.String(length=64), nullable=False),
        sa.Column("origin_id", sa.String(length=200), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.Column("envelope", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_compromises_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_compromises")),
        sa.UniqueConstraint("id", name=op.f("uq_compromises_id")),
    )
    op.create_index("ix_compromises_item", "compromises", ["originator", "origin_id"])


def downgrade() -> None:
    op.drop_index("ix_compromises_item", table_name="compromises")
    op.drop_table("compromises")
    op.drop_index("ix_consent_requests_item", table_name="consent_requests")
    op.drop_table("consent_requests")
