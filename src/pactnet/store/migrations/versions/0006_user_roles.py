"""Users have roles: every user stored before roles existed becomes an analyst.

Before this revision any user could do anything a token allows; the least of the roles keeps what such a user
needs day to day (publish, read, ask for consent, report a compromise) and nothing that commits the party.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=False, server_default='["analyst"]'))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("roles")
