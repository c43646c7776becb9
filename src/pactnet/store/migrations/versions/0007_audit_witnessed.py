"""Witnessed heads: the last signed head of each partner's audit log, kept by this node as its witness.

A partner that cuts its log back to an earlier point (or rewrites it) can no longer match the head it gave its
witnesses; `pactnet audit verify --witnesses` compares (docs/audit.md, "Witnesses").

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_witnessed",
        sa.Column("party", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_audit_witnessed")),
    )


def downgrade() -> None:
    op.drop_table("audit_witnessed")
