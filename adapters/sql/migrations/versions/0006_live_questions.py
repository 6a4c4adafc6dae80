"""Live questions: rooms, their events, the question bank, picks and attempts.

Revision ID: 0006
Revises: 0005 (chat)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen here, as in 0001: adapters.sql.tables.UtcDateTime only converts values.
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    # New tables only: CREATE TABLE needs no batch mode, even on SQLite.
    op.create_table(
        "live_rooms",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("question_id", sa.String(32), nullable=True),
        sa.Column("deadline", UtcDateTime, nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_live_rooms")),
    )
    op.create_table(
        "live_room_events",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("question_id", sa.String(32), nullable=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq", name=op.f("pk_live_room_events")),
    )
    op.create_table(
        "live_questions",
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_live_questions")),
    )
    op.create_index(
        op.f("ix_live_questions_owner_id_created_at_question_id"),
        "live_questions",
        ["owner_id", "created_at", "question_id"],
    )
    op.create_table(
        "live_picks",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("picked_at", UtcDateTime, nullable=False),
        sa.Column("deadline", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("room_id", "question_id", name=op.f("pk_live_picks")),
    )
    op.create_table(
        "live_attempts",
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("answered_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("question_id", "room_id", "user_id", name=op.f("pk_live_attempts")),
    )


def downgrade() -> None:
    op.drop_table("live_attempts")
    op.drop_table("live_picks")
    op.drop_index(op.f("ix_live_questions_owner_id_created_at_question_id"), table_name="live_questions")
    op.drop_table("live_questions")
    op.drop_table("live_room_events")
    op.drop_table("live_rooms")
