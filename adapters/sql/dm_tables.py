"""The dm context's SQL tables, on the shared metadata (adapters/sql/tables.py imports this module
so that the schema test compares them with migration 0006 as well)."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.tables import Id, UtcDateTime, metadata

Uuid = sa.String(36)

dm_users = sa.Table(
    "dm_users",
    metadata,
    sa.Column("user_id", Id, nullable=False),
    sa.Column("uuid", Uuid, nullable=False),
    sa.Column("handle", sa.String(32), nullable=False),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("user_id"),
    sa.UniqueConstraint("uuid"),
    sa.UniqueConstraint("handle"),
)

# One row per pair of users (member_a < member_b): UNIQUE(member_a, member_b) is what makes two
# users' first messages, sent at the same moment, land in one group.
dm_groups = sa.Table(
    "dm_groups",
    metadata,
    sa.Column("uuid", Uuid, nullable=False),
    sa.Column("member_a", Uuid, nullable=False),
    sa.Column("member_b", Uuid, nullable=False),
    sa.Column("member_a_id", Id, nullable=False),
    sa.Column("member_b_id", Id, nullable=False),
    sa.Column("last_message_at", UtcDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("unread_a", sa.Integer, nullable=False),
    sa.Column("unread_b", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("uuid"),
    sa.UniqueConstraint("member_a", "member_b"),
)

dm_messages = sa.Table(
    "dm_messages",
    metadata,
    sa.Column("group_uuid", Uuid, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("message_uuid", Uuid, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sender_uuid", Uuid, nullable=False),
    sa.Column("sender_handle", sa.String(32), nullable=False),
    sa.Column("sender_display_name", sa.String(64), nullable=False),
    # A group's messages have distinct times: pages are keyset ranges of this key.
    sa.PrimaryKeyConstraint("group_uuid", "created_at"),
    sa.UniqueConstraint("message_uuid"),
)

dm_summaries = sa.Table(
    "dm_summaries",
    metadata,
    sa.Column("owner_uuid", Uuid, nullable=False),
    sa.Column("group_uuid", Uuid, nullable=False),
    sa.Column("last_message_at", UtcDateTime, nullable=False),
    sa.Column("last_message", sa.Text, nullable=False),
    sa.Column("other_uuid", Uuid, nullable=False),
    sa.Column("other_handle", sa.String(32), nullable=False),
    sa.Column("other_display_name", sa.String(64), nullable=False),
    sa.Column("unread", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("owner_uuid", "group_uuid"),
    # A user's list pages by this key; distinct per user, as DynamoDB's sort key is.
    sa.UniqueConstraint("owner_uuid", "last_message_at"),
)
