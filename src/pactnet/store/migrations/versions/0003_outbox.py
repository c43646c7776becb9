"""The outbox (what to send to partners, written with what caused it), consents, a received item's own level.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        batch_op.add_column(sa.Column("origin_level", sa.String(length=100), nullable=True))
    op.create_table(
        "outbox",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("envelope_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("final", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=True),
        sa.Column("under", sa.String(length=200), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.String(length=27), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.String(length=27), nullable=True),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("settled_at", sa.String(length=27), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("envelope_id", name=op.f("uq_outbox_envelope_id")),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "rank", "seq"])
    op.create_table(
        "consents",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("originator", sa.String(length=64), nullable=False),
        sa.Column("report", sa.String(length=200), nullable=False),
        sa.Column("to", sa.String(length=64), nullable=True),
        sa.Column("arrangement", sa.String(length=200), nullable=True),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("until", sa.String(length=27), nullable=True),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consents")),
        sa.UniqueConstraint("id", name=op.f("uq_consents_id")),
    )
    op.create_index("ix_consents_report", "consents", ["originator", "report"])
    op.create_index("ix_outbox_report_id", "outbox", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_consents_report", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_outbox_report_id", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_column("origin_level")
