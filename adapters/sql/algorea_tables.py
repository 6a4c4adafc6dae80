"""The SQL tables of the AlgoREA compatibility surface (docs/algorea.md): the directory of items and
users that AlgoREA's thread list shows, and the ids of the events AlgoREA's backend sent (so that a
repeated delivery changes nothing). Migration 0009 creates them."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.tables import Id, UtcDateTime, metadata

# Sizes: AlgoREA's own columns are no wider (items_strings.title 200, users.login 100, names 100).
TITLE_CHARS = 200
NAME_CHARS = 100
# EventBridge event ids are UUIDs; other senders' ids are capped here.
EVENT_ID_CHARS = 128

algorea_items = sa.Table(
    "algorea_items",
    metadata,
    sa.Column("item_id", Id, nullable=False),
    sa.Column("type", sa.String(16), nullable=True),
    sa.Column("title", sa.String(TITLE_CHARS), nullable=True),
    sa.Column("language_tag", sa.String(16), nullable=True),
    sa.PrimaryKeyConstraint("item_id"),
)

algorea_users = sa.Table(
    "algorea_users",
    metadata,
    sa.Column("group_id", Id, nullable=False),
    sa.Column("login", sa.String(NAME_CHARS), nullable=True),
    sa.Column("first_name", sa.String(NAME_CHARS), nullable=True),
    sa.Column("last_name", sa.String(NAME_CHARS), nullable=True),
    sa.Column("show_personal_info", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("group_id"),
)

# One row per event applied, written in the transaction that applied it.
forum_received_events = sa.Table(
    "forum_received_events",
    metadata,
    sa.Column("event_id", sa.String(EVENT_ID_CHARS), nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("event_id"),
)
