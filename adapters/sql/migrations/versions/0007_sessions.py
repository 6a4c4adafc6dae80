"""Sessions: sessions, their child sessions, and each customer's last login.

Revision ID: 0007
Revises: 0006 (live questions)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen here, as in 0001: adapters.sql.tables.UtcDateTime only converts values.
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_login_time", UtcDateTime, nullable=False),
        sa.Column("last_active_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("lifetime_ends_at", UtcDateTime, nullable=False),
        sa.Column("access_token", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("state IN ('active', 'closing')", name=op.f("ck_sessions_session_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_customer_id_id"), "sessions", ["customer_id", "id"])
    op.create_table(
        "child_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_child_sessions_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_sessions")),
    )
    op.create_index(op.f("ix_child_sessions_session_id_id"), "child_sessions", ["session_id", "id"])
    op.create_table(
        "session_logins",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("last_login_time", UtcDateTime, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_session_logins")),
    )


def downgrade() -> None:
    op.drop_table("session_logins")
    op.drop_index(op.f("ix_child_sessions_session_id_id"), table_name="child_sessions")
    op.drop_table("child_sessions")
    op.drop_index(op.f("ix_sessions_customer_id_id"), table_name="sessions")
    op.drop_table("sessions")
