"""Initial schema: forum threads, events, follows, read markers, and the grant tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here rather than imported: a migration must keep meaning what it meant when written.
# adapters.sql.tables.UtcDateTime only converts values; its column type is this one.
UtcDateTime = sa.DateTime(timezone=True)


def _thread_key() -> list[sa.Column]:
    return [
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "threads",
        *_thread_key(),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("helper_group_id", sa.BigInteger(), nullable=True),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("latest_update_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting_for_participant', 'waiting_for_trainer', 'closed')",
            name=op.f("ck_threads_stored_status"),
        ),
        sa.PrimaryKeyConstraint("item_id", "participant_id", name=op.f("pk_threads")),
    )
    op.create_index(
        op.f("ix_threads_participant_id_latest_update_at"), "threads", ["participant_id", "latest_update_at"]
    )
    op.create_index(
        op.f("ix_threads_helper_group_id_latest_update_at"), "threads", ["helper_group_id", "latest_update_at"]
    )

    op.create_table(
        "thread_sequences",
        *_thread_key(),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "participant_id", name=op.f("pk_thread_sequences")),
    )

    op.create_table(
        "thread_events",
        *_thread_key(),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("time", UtcDateTime, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("message_uuid", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "participant_id", "seq", name=op.f("pk_thread_events")),
        sa.UniqueConstraint(
            "item_id",
            "participant_id",
            "message_uuid",
            name=op.f("uq_thread_events_item_id_participant_id_message_uuid"),
        ),
    )
    op.create_index(
        op.f("ix_thread_events_item_id_participant_id_type_seq"),
        "thread_events",
        ["item_id", "participant_id", "type", "seq"],
    )

    op.create_table(
        "thread_follows",
        *_thread_key(),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("item_id", "participant_id", "user_id", name=op.f("pk_thread_follows")),
    )

    op.create_table(
        "thread_read_markers",
        *_thread_key(),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_message_count", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "participant_id", "user_id", name=op.f("pk_thread_read_markers")),
    )

    op.create_table(
        "group_memberships",
        sa.Column("parent_group_id", sa.BigInteger(), nullable=False),
        sa.Column("child_group_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("parent_group_id", "child_group_id", name=op.f("pk_group_memberships")),
    )
    op.create_index(op.f("ix_group_memberships_child_group_id"), "group_memberships", ["child_group_id"])

    op.create_table(
        "item_permissions",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("can_view", sa.String(32), server_default="none", nullable=False),
        sa.Column("can_watch", sa.String(32), server_default="none", nullable=False),
        sa.PrimaryKeyConstraint("group_id", "item_id", name=op.f("pk_item_permissions")),
    )
    op.create_index(op.f("ix_item_permissions_item_id"), "item_permissions", ["item_id"])

    op.create_table(
        "item_help_targets",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("helper_group_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id", "item_id"],
            ["item_permissions.group_id", "item_permissions.item_id"],
            name=op.f("fk_item_help_targets_group_id_item_permissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "item_id", "helper_group_id", name=op.f("pk_item_help_targets")),
    )

    op.create_table(
        "group_managers",
        sa.Column("manager_group_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("can_watch_members", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("manager_group_id", "group_id", name=op.f("pk_group_managers")),
    )

    op.create_table(
        "validated_items",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "item_id", name=op.f("pk_validated_items")),
    )


def downgrade() -> None:
    for table in (
        "validated_items",
        "group_managers",
        "item_help_targets",
        "item_permissions",
        "group_memberships",
        "thread_read_markers",
        "thread_follows",
        "thread_events",
        "thread_sequences",
        "threads",
    ):
        op.drop_table(table)
