"""The AlgoREA compatibility surface: its directory of items and users, and the ids of the events
AlgoREA's backend sent (idempotency).

Revision ID: 0009
Revises: 0008 (direct messages)
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "algorea_items",
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(16), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("language_tag", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_algorea_items")),
    )
    op.create_table(
        "algorea_users",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("login", sa.String(100), nullable=True),
        sa.Column("first_name", sa.String(100), nullable=True),
        sa.Column("last_name", sa.String(100), nullable=True),
        sa.Column("show_personal_info", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_algorea_users")),
    )
    op.create_table(
        "forum_received_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_forum_received_events")),
    )


def downgrade() -> None:
    for table in ("forum_received_events", "algorea_users", "algorea_items"):
        op.drop_table(table)
