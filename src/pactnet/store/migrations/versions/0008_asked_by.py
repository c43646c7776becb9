"""Every transfer says who asked for it: `asked_by` on decisions and on the outbox.

A consent permits, it never sends (issue 19): a transfer is decided only because someone at the sending node
asked for it, as the publisher's recipients (`recipients`), a consent request (`consent-request`) or an
explicit onward release (`release`). Every decision and transfer stored before this revision was asked for as
the publisher's recipients (or by a consent acting on its own, which no longer happens), so they all become
`recipients`; outbox rows that are not transfers (acts, consents, notices) carry none.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("asked_by", sa.String(length=32), nullable=False, server_default="recipients"))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("asked_by", sa.String(length=32), nullable=True))
    op.execute("UPDATE outbox SET asked_by = 'recipients' WHERE kind = 'transfer'")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("asked_by")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("asked_by")
