"""Live delivery: followers' stored notifications and the live subscriptions every process shares.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen here, as in 0001: adapters.sql.tables.UtcDateTime only converts values.
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    # New tables only: CREATE TABLE needs no batch mode, even on SQLite.
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("read", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "id", name=op.f("pk_notifications")),
    )
    op.create_table(
        "live_subscriptions",
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("connection_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("topic", "connection_id", name=op.f("pk_live_subscriptions")),
    )


def downgrade() -> None:
    op.drop_table("live_subscriptions")
    op.drop_table("notifications")
