"""The forum store backends the contract suite runs against.

Each entry makes a fresh, empty store for one test and returns a unit-of-work factory. Backends
that need a real server get it from the session fixtures in tests/support.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.delivery.notifications import NotificationStore
from application.delivery.subscriptions import SubscriptionStore
from application.forum.ports import ForumUnitOfWork

UowFactory = Callable[[], ForumUnitOfWork]


def memory_backend(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> UowFactory:
    state = MemoryForumState()
    return lambda: MemoryForumUnitOfWork(state, notifier)


def dynamodb_backend(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> UowFactory:
    from adapters.dynamodb.forum import DynamoDbForumUnitOfWork
    from tests.support.dynamodb import fresh_forum

    forum = fresh_forum(request)
    return lambda: DynamoDbForumUnitOfWork(forum, notifier)


def sqlite_backend(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> UowFactory:
    from adapters.sql.forum import SqlForumUnitOfWork
    from tests.support.sql import fresh_sqlite

    database = fresh_sqlite(request)
    return lambda: SqlForumUnitOfWork(database.engine, notifier)


def postgres_backend(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> UowFactory:
    from adapters.sql.forum import SqlForumUnitOfWork
    from tests.support.sql import fresh_postgres

    database = fresh_postgres(request)
    return lambda: SqlForumUnitOfWork(database.engine, notifier)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, InProcessNotifier], UowFactory]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
    "dynamodb": dynamodb_backend,
}


# -- the delivery stores: (NotificationStore, SubscriptionStore) on a fresh, empty backend ---------

# "Now" for the SQL subscription store's purge of expired rows: before every row of the suite, which
# reads rows at times of its own (its purge has a test of its own).
PURGE_NOTHING = datetime(2000, 1, 1, tzinfo=UTC)


def memory_live(request: pytest.FixtureRequest) -> tuple[NotificationStore, SubscriptionStore]:
    from adapters.memory.delivery import MemoryNotificationStore, MemorySubscriptionStore

    return MemoryNotificationStore(), MemorySubscriptionStore()


def sqlite_live(request: pytest.FixtureRequest) -> tuple[NotificationStore, SubscriptionStore]:
    from adapters.sql.delivery import SqlNotificationStore, SqlSubscriptionStore
    from tests.support.sql import fresh_sqlite

    database = fresh_sqlite(request)
    return SqlNotificationStore(database.engine), SqlSubscriptionStore(database.engine, now=lambda: PURGE_NOTHING)


def postgres_live(request: pytest.FixtureRequest) -> tuple[NotificationStore, SubscriptionStore]:
    from adapters.sql.delivery import SqlNotificationStore, SqlSubscriptionStore
    from tests.support.sql import fresh_postgres

    database = fresh_postgres(request)
    return SqlNotificationStore(database.engine), SqlSubscriptionStore(database.engine, now=lambda: PURGE_NOTHING)


def dynamodb_live(request: pytest.FixtureRequest) -> tuple[NotificationStore, SubscriptionStore]:
    from adapters.dynamodb.delivery import DynamoDbNotificationStore
    from adapters.dynamodb.forum import DynamoDbSubscriptionStore
    from adapters.dynamodb.tables import FORUM_TABLE, notifications_table_name
    from tests.support.dynamodb import fresh_forum

    forum = fresh_forum(request)  # creates every table under a prefix of its own
    prefix = forum.table.removesuffix(FORUM_TABLE)
    return DynamoDbNotificationStore(forum.client, notifications_table_name(prefix)), DynamoDbSubscriptionStore(forum)


LIVE_BACKENDS: dict[str, Callable[[pytest.FixtureRequest], tuple[NotificationStore, SubscriptionStore]]] = {
    "memory": memory_live,
    "sqlite": sqlite_live,
    "postgres": postgres_live,
    "dynamodb": dynamodb_live,
}
