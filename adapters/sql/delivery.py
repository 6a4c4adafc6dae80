"""Delivery's notification and subscription stores on SQL (SQLite or PostgreSQL), shared by every process.

Each call is one short transaction of its own on a pooled connection, outside any unit of work:
notifications are written by message-bus handlers after the writing transaction, subscriptions
by the websocket layer. Writes take SQLite's write lock at BEGIN (`WRITE_LOCK`), as the units of
work do; outages become BackendUnavailable ("database"), as in adapters/sql/forum.py.

Every statement is a primary-key lookup or range (tables in adapters/sql/tables.py):
- notifications (user_id, id): a page is `WHERE user_id = :u AND id < :before ORDER BY id DESC
  LIMIT :n`; delete and mark-read match (user_id, id), so another user's id changes nothing. Each
  row keeps its topic name, its type and the context's payload (JSON), whatever the context.
- delivery_subscriptions (topic, connection_id): put is an upsert (renewal overwrites) that also
  deletes up to PURGE_BATCH expired rows of the same topic (a crashed process never deletes its
  rows, and leases are short); of_topic is a range on topic filtered on expires_at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from adapters.sql import tables as t
from adapters.sql.base import unavailable_as_backend_error
from adapters.sql.engine import WRITE_LOCK
from application.delivery.notifications import Notification
from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import Topic

# Expired subscription rows deleted by one put: bounded, so a put stays a short transaction.
PURGE_BATCH = 100


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _transaction(engine: Engine, write: bool) -> Iterator[Connection]:
    with unavailable_as_backend_error(), engine.connect() as connection:
        if write:
            connection.execution_options(**{WRITE_LOCK: True})
        with connection.begin():
            yield connection


class SqlNotificationStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def add(self, notifications: list[Notification]) -> None:
        if not notifications:
            return
        rows = [
            {
                "user_id": n.user_id,
                "id": n.id,
                "topic": n.topic.name,
                "type": n.type,
                "payload": dict(n.payload),
                "created_at": n.created_at,
                "read": n.read,
            }
            for n in notifications
        ]
        with _transaction(self._engine, write=True) as connection:
            connection.execute(t.notifications.insert(), rows)

    def page(self, user_id: int, before_id: str | None, limit: int) -> list[Notification]:
        c = t.notifications.c
        statement = sa.select(t.notifications).where(c.user_id == user_id)
        if before_id is not None:
            statement = statement.where(c.id < before_id)
        statement = statement.order_by(c.id.desc()).limit(max(limit, 0))
        with _transaction(self._engine, write=False) as connection:
            return [_notification(row) for row in connection.execute(statement)]

    def delete(self, user_id: int, notification_id: str) -> bool:
        c = t.notifications.c
        statement = t.notifications.delete().where(c.user_id == user_id, c.id == notification_id)
        with _transaction(self._engine, write=True) as connection:
            return connection.execute(statement).rowcount > 0

    def mark_read(self, user_id: int, notification_id: str) -> bool:
        c = t.notifications.c
        statement = t.notifications.update().where(c.user_id == user_id, c.id == notification_id).values(read=True)
        with _transaction(self._engine, write=True) as connection:
            # Both backends count matched rows, so marking a read notification again is still True.
            return connection.execute(statement).rowcount > 0


def _notification(row: sa.Row) -> Notification:
    return Notification(
        id=row.id,
        user_id=row.user_id,
        topic=Topic.parse(row.topic),
        type=row.type,
        payload=dict(row.payload),
        created_at=row.created_at,
        read=bool(row.read),
    )


class SqlSubscriptionStore:
    def __init__(self, engine: Engine, now: Callable[[], datetime] = _wall_clock):
        self._engine = engine
        self._now = now

    def put(self, subscription: TopicSubscription) -> None:
        topic = subscription.topic.name
        values = {
            "topic": topic,
            "connection_id": subscription.connection_id,
            "user_id": subscription.user_id,
            "expires_at": subscription.expires_at,
        }
        with _transaction(self._engine, write=True) as connection:
            self._purge_expired(connection, topic)
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            statement = insert(t.delivery_subscriptions).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=["topic", "connection_id"],
                set_={"user_id": statement.excluded.user_id, "expires_at": statement.excluded.expires_at},
            )
            connection.execute(statement)

    def _purge_expired(self, connection: Connection, topic: str) -> None:
        """Up to PURGE_BATCH expired rows of this topic: a range of the key, then a delete by key."""
        c = t.delivery_subscriptions.c
        now = self._now()
        expired = (
            sa.select(c.connection_id)
            .where(c.topic == topic, c.expires_at <= now)
            .order_by(c.connection_id)
            .limit(PURGE_BATCH)
        )
        ids = [row.connection_id for row in connection.execute(expired)]
        if ids:
            connection.execute(
                t.delivery_subscriptions.delete().where(
                    c.topic == topic, c.connection_id.in_(ids), c.expires_at <= now
                )
            )

    def delete(self, topic: Topic, connection_id: str) -> None:
        c = t.delivery_subscriptions.c
        statement = t.delivery_subscriptions.delete().where(c.topic == topic.name, c.connection_id == connection_id)
        with _transaction(self._engine, write=True) as connection:
            connection.execute(statement)

    def of_topic(self, topic: Topic, now: datetime) -> list[TopicSubscription]:
        c = t.delivery_subscriptions.c
        statement = (
            sa.select(t.delivery_subscriptions)
            .where(c.topic == topic.name, c.expires_at > now)
            .order_by(c.connection_id)
        )
        with _transaction(self._engine, write=False) as connection:
            return [
                TopicSubscription(topic, row.connection_id, row.user_id, row.expires_at)
                for row in connection.execute(statement)
            ]
