"""Direct messages: the users directory, message groups, messages and group summaries.

Revision ID: 0008
Revises: 0007 (sessions)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen here, as in 0001: adapters.sql.tables.UtcDateTime only converts values.
UtcDateTime = sa.DateTime(timezone=True)
Uuid = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "dm_users",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("uuid", Uuid, nullable=False),
        sa.Column("handle", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_dm_users")),
        sa.UniqueConstraint("uuid", name=op.f("uq_dm_users_uuid")),
        sa.UniqueConstraint("handle", name=op.f("uq_dm_users_handle")),
    )
    op.create_table(
        "dm_groups",
        sa.Column("uuid", Uuid, nullable=False),
        sa.Column("member_a", Uuid, nullable=False),
        sa.Column("member_b", Uuid, nullable=False),
        sa.Column("member_a_id", sa.BigInteger(), nullable=False),
        sa.Column("member_b_id", sa.BigInteger(), nullable=False),
        sa.Column("last_message_at", UtcDateTime, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unread_a", sa.Integer(), nullable=False),
        sa.Column("unread_b", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_dm_groups")),
        sa.UniqueConstraint("member_a", "member_b", name=op.f("uq_dm_groups_member_a_member_b")),
    )
    op.create_table(
        "dm_messages",
        sa.Column("group_uuid", Uuid, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("message_uuid", Uuid, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sender_uuid", Uuid, nullable=False),
        sa.Column("sender_handle", sa.String(32), nullable=False),
        sa.Column("sender_display_name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("group_uuid", "created_at", name=op.f("pk_dm_messages")),
        sa.UniqueConstraint("message_uuid", name=op.f("uq_dm_messages_message_uuid")),
    )
    op.create_table(
        "dm_summaries",
        sa.Column("owner_uuid", Uuid, nullable=False),
        sa.Column("group_uuid", Uuid, nullable=False),
        sa.Column("last_message_at", UtcDateTime, nullable=False),
        sa.Column("last_message", sa.Text(), nullable=False),
        sa.Column("other_uuid", Uuid, nullable=False),
        sa.Column("other_handle", sa.String(32), nullable=False),
        sa.Column("other_display_name", sa.String(64), nullable=False),
        sa.Column("unread", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner_uuid", "group_uuid", name=op.f("pk_dm_summaries")),
        sa.UniqueConstraint("owner_uuid", "last_message_at", name=op.f("uq_dm_summaries_owner_uuid_last_message_at")),
    )


def downgrade() -> None:
    for table in ("dm_summaries", "dm_messages", "dm_groups", "dm_users"):
        op.drop_table(table)
