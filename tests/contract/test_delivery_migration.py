"""Migration 0003 (delivery keyed by topic) keeps the rows written before it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from adapters.sql.delivery import SqlNotificationStore, SqlSubscriptionStore
from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from application.delivery.topics import Topic
from tests.support.postgres import _admin_connection, database_url

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EVENT = {"cursor": "abc", "type": "message", "time": "2026-01-01T12:00:00Z", "user_id": "30", "text": "hi",
         "uuid": "u1"}


@pytest.fixture(params=["sqlite", "postgres"])
def engine_at_0002(request, tmp_path):
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    else:
        name = f"parley_mig_{uuid.uuid4().hex[:10]}"
        with _admin_connection() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with _admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        request.addfinalizer(drop)
        engine = create_engine(database_url(name))
    request.addfinalizer(engine.dispose)
    upgrade(engine, "0002")
    return engine


def test_rows_written_before_topics_are_read_through_the_delivery_stores(engine_at_0002):
    engine = engine_at_0002
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO notifications (user_id, id, item_id, participant_id, event, created_at, read)"
                " VALUES (7, :id, 100, 5, :event, :at, false)"
            ),
            {"id": "1767268800000abcdefabcdef", "event": json.dumps(EVENT), "at": T0.replace(tzinfo=None)},
        )
        connection.execute(
            sa.text(
                "INSERT INTO live_subscriptions (topic, connection_id, user_id, expires_at)"
                " VALUES ('forum.thread.5.100', 'c1', 7, :at)"
            ),
            {"at": (T0 + timedelta(hours=1)).replace(tzinfo=None)},
        )
    upgrade(engine)

    (note,) = SqlNotificationStore(engine).page(7, None, 10)
    assert note.topic == Topic("forum", "thread", ("5", "100"))
    assert note.to_public() == {
        "id": "1767268800000abcdefabcdef",
        "type": "forum.message",
        "item_id": "100",
        "participant_id": "5",
        "event": EVENT,
        "created_at": "2026-01-01T12:00:00.000Z",
        "read": False,
    }
    assert list(note.to_public()) == ["id", "type", "item_id", "participant_id", "event", "created_at", "read"]
    subs = SqlSubscriptionStore(engine, now=lambda: T0)
    assert [s.connection_id for s in subs.of_topic(Topic.parse("forum.thread.5.100"), T0)] == ["c1"]
