"""The SQL schema (DESIGN.md §3.2): one set of tables for SQLite and PostgreSQL.

Alembic's migrations in `migrations/` create exactly this; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from domain.shared import utc

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes at millisecond precision, on every backend.

    SQLite has no time zone type: values are stored as naive UTC text (which sorts correctly) and
    come back aware, so the domain never sees a naive datetime.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Ids are signed 64-bit. SQLite only makes an INTEGER PRIMARY KEY a rowid when it is the whole key,
# which never happens here, so BigInteger is safe on both backends.
Id = sa.BigInteger


def _thread_key() -> list[sa.Column]:
    return [sa.Column("item_id", Id, nullable=False), sa.Column("participant_id", Id, nullable=False)]


# -- forum ----------------------------------------------------------------------------------------

threads = sa.Table(
    "threads",
    metadata,
    *_thread_key(),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("helper_group_id", Id, nullable=True),
    sa.Column("message_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("latest_update_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("item_id", "participant_id"),
    sa.CheckConstraint(
        "status IN ('waiting_for_participant', 'waiting_for_trainer', 'closed')", name="stored_status"
    ),
    # The thread lists: a participant's threads, and the threads a helper group may answer.
    sa.Index(None, "participant_id", "latest_update_at"),
    sa.Index(None, "helper_group_id", "latest_update_at"),
)

# The per-thread event counter. Incremented in the appending transaction, so its row lock orders
# concurrent writers and the sequence stays gapless; a thread with no events has no row.
thread_sequences = sa.Table(
    "thread_sequences",
    metadata,
    *_thread_key(),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("item_id", "participant_id"),
)

thread_events = sa.Table(
    "thread_events",
    metadata,
    *_thread_key(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("time", UtcDateTime, nullable=False),
    sa.Column("user_id", Id, nullable=True),
    # Set for message events only: the client's idempotency key, unique in its thread.
    sa.Column("message_uuid", sa.String(64), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.PrimaryKeyConstraint("item_id", "participant_id", "seq"),
    sa.UniqueConstraint("item_id", "participant_id", "message_uuid"),
    # Message pages skip the other event types without reading them.
    sa.Index(None, "item_id", "participant_id", "type", "seq"),
)

thread_follows = sa.Table(
    "thread_follows",
    metadata,
    *_thread_key(),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.PrimaryKeyConstraint("item_id", "participant_id", "user_id"),
)

thread_read_markers = sa.Table(
    "thread_read_markers",
    metadata,
    *_thread_key(),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("seen_message_count", sa.Integer, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("item_id", "participant_id", "user_id"),
)

# -- delivery (application/delivery/), shared by every context ------------------------------------

# A follower's stored notifications. Ids sort by creation time (new_notification_id), so a page,
# newest first from a keyset position, is a range of the primary key, as are delete and mark-read
# (which also check the owner: another user's id matches no row). `topic` is where it came from
# (a topic name such as forum.thread.7.100), `type` what it is, `payload` the context's fields.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("user_id", Id, nullable=False),
    sa.Column("id", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("read", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint("user_id", "id"),
)

# Who watches a topic live, shared by every process. One row per (topic, connection): renewing
# overwrites it, and "who watches this topic" is a range of the primary key. A crashed process
# never unsubscribes: reads filter on expires_at, and each put deletes a bounded batch of its
# topic's expired rows.
delivery_subscriptions = sa.Table(
    "delivery_subscriptions",
    metadata,
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("connection_id", sa.String(255), nullable=False),
    sa.Column("user_id", Id, nullable=True),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("topic", "connection_id"),
)

# -- chat (adapters/sql/chat.py) -----------------------------------------------------------------

chat_rooms = sa.Table(
    "chat_rooms",
    metadata,
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("created_by", Id, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("room_id"),
)

# Members of a room are a range of the primary key; the rooms of a user, of the second index.
chat_members = sa.Table(
    "chat_members",
    metadata,
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("joined_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("room_id", "user_id"),
    sa.Index(None, "user_id", "room_id"),
)

# A comment's position is (created_at, tiebreak): the primary key keeps it unique in its room and
# makes every history read a range of it.
chat_comments = sa.Table(
    "chat_comments",
    metadata,
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("tiebreak", sa.Integer, nullable=False),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("room_id", "created_at", "tiebreak"),
)

# -- sessions (domain/sessions, adapters/sql/sessions.py) ----------------------------------------

# Session ids sort by creation time, so a customer's sessions, newest first from a keyset position,
# are a range of the (customer_id, id) index. `version` counts changes of the child set.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(32), nullable=False),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("last_login_time", UtcDateTime, nullable=False),
    sa.Column("last_active_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("lifetime_ends_at", UtcDateTime, nullable=False),
    sa.Column("access_token", sa.String(64), nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("id"),
    sa.CheckConstraint("state IN ('active', 'closing')", name="session_state"),
    sa.Index(None, "customer_id", "id"),
)

child_sessions = sa.Table(
    "child_sessions",
    metadata,
    sa.Column("id", sa.String(32), nullable=False),
    sa.Column("session_id", sa.String(32), nullable=False),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("label", sa.String(64), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
    sa.Index(None, "session_id", "id"),
)

# A customer's newest login, kept apart from the sessions: it survives their deletion, and
# raising it only ever moves it later (an upsert with a WHERE), whatever order logins commit in.
session_logins = sa.Table(
    "session_logins",
    metadata,
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("last_login_time", UtcDateTime, nullable=False),
    sa.Column("session_id", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("customer_id"),
)

# -- grants (a simplified AlgoREA schema, DESIGN.md §2.1) -----------------------------------------

# groups_groups in AlgoREA: the child (a user's own group, a team, a class) is a member of the parent.
group_memberships = sa.Table(
    "group_memberships",
    metadata,
    sa.Column("parent_group_id", Id, nullable=False),
    sa.Column("child_group_id", Id, nullable=False),
    sa.PrimaryKeyConstraint("parent_group_id", "child_group_id"),
    # Ancestry walks upwards from the child.
    sa.Index(None, "child_group_id"),
)

# Levels are stored by name ('content', 'answer', ...), as AlgoREA's enums and the import document.
item_permissions = sa.Table(
    "item_permissions",
    metadata,
    sa.Column("group_id", Id, nullable=False),
    sa.Column("item_id", Id, nullable=False),
    sa.Column("can_view", sa.String(32), nullable=False, server_default="none"),
    sa.Column("can_watch", sa.String(32), nullable=False, server_default="none"),
    sa.PrimaryKeyConstraint("group_id", "item_id"),
    sa.Index(None, "item_id"),
)

# can_request_help_to of item_permissions: the groups a participant may ask for help on the item.
item_help_targets = sa.Table(
    "item_help_targets",
    metadata,
    sa.Column("group_id", Id, nullable=False),
    sa.Column("item_id", Id, nullable=False),
    sa.Column("helper_group_id", Id, nullable=False),
    sa.PrimaryKeyConstraint("group_id", "item_id", "helper_group_id"),
    sa.ForeignKeyConstraint(
        ["group_id", "item_id"], ["item_permissions.group_id", "item_permissions.item_id"], ondelete="CASCADE"
    ),
)

# group_managers in AlgoREA: members of the manager group may watch the members of the managed group.
group_managers = sa.Table(
    "group_managers",
    metadata,
    sa.Column("manager_group_id", Id, nullable=False),
    sa.Column("group_id", Id, nullable=False),
    sa.Column("can_watch_members", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.PrimaryKeyConstraint("manager_group_id", "group_id"),
)

validated_items = sa.Table(
    "validated_items",
    metadata,
    sa.Column("user_id", Id, nullable=False),
    sa.Column("item_id", Id, nullable=False),
    sa.PrimaryKeyConstraint("user_id", "item_id"),
)

FORUM_TABLES = (threads, thread_sequences, thread_events, thread_follows, thread_read_markers)
DELIVERY_TABLES = (notifications, delivery_subscriptions)
CHAT_TABLES = (chat_rooms, chat_members, chat_comments)
GRANT_TABLES = (group_memberships, item_permissions, item_help_targets, group_managers, validated_items)

# Each context's own module adds its tables to `metadata`; imported here (last, once `metadata` is
# complete) so that migrations' comparisons and the test helpers see every table.
import adapters.sql.dm_tables  # noqa: E402,F401
from adapters.sql import social as _social_tables  # noqa: E402,F401

# -- live questions (PyLiveQuestions; adapters/sql/live_questions.py) ------------------------------

# A room, with its state machine's state and `seq`, the number of its events so far.
live_rooms = sa.Table(
    "live_rooms",
    metadata,
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("owner_id", Id, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("question_id", sa.String(32), nullable=True),
    sa.Column("deadline", UtcDateTime, nullable=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("room_id"),
)

# What everyone in a room heard, in order: a subscriber resumes from its cursor (the seq).
live_room_events = sa.Table(
    "live_room_events",
    metadata,
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("question_id", sa.String(32), nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("room_id", "seq"),
)

live_questions = sa.Table(
    "live_questions",
    metadata,
    sa.Column("question_id", sa.String(32), nullable=False),
    sa.Column("owner_id", Id, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("question_id"),
    sa.Index(None, "owner_id", "created_at", "question_id"),
)

# The reference's QuestionInRoom: the latest pick is the active question; a question once per room.
live_picks = sa.Table(
    "live_picks",
    metadata,
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("question_id", sa.String(32), nullable=False),
    sa.Column("picked_at", UtcDateTime, nullable=False),
    sa.Column("deadline", UtcDateTime, nullable=True),
    sa.PrimaryKeyConstraint("room_id", "question_id"),
)

# One attempt per (question, room, user): answering again replaces it.
live_attempts = sa.Table(
    "live_attempts",
    metadata,
    sa.Column("question_id", sa.String(32), nullable=False),
    sa.Column("room_id", sa.String(64), nullable=False),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("answer", sa.JSON, nullable=False),
    sa.Column("answered_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("question_id", "room_id", "user_id"),
)

LIVE_QUESTION_TABLES = (live_rooms, live_room_events, live_questions, live_picks, live_attempts)
import adapters.sql.algorea_tables  # noqa: E402,F401
