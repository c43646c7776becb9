"""One stored copy per item: a unique index on reports (originator, origin_id).

A receiver looks up an item it may already hold by its originator and its id there; without an index that
lookup read every report received from the originator, so receiving slowed as reports accumulated.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reports_origin", "reports", ["originator", "origin_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_reports_origin", table_name="reports")
