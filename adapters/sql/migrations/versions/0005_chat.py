"""Chat rooms, their members and their comments.

Revision ID: 0005
Revises: 0004 (social)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen here, as in 0001: adapters.sql.tables.UtcDateTime only converts values.
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    # New tables only: CREATE TABLE needs no batch mode, even on SQLite.
    op.create_table(
        "chat_rooms",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_chat_rooms")),
    )
    op.create_table(
        "chat_members",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_chat_members")),
    )
    op.create_index(op.f("ix_chat_members_user_id_room_id"), "chat_members", ["user_id", "room_id"])
    op.create_table(
        "chat_comments",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("tiebreak", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "created_at", "tiebreak", name=op.f("pk_chat_comments")),
    )


def downgrade() -> None:
    op.drop_table("chat_comments")
    op.drop_index(op.f("ix_chat_members_user_id_room_id"), table_name="chat_members")
    op.drop_table("chat_members")
    op.drop_table("chat_rooms")
