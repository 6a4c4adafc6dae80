"""The forum store backends the contract suite runs against.

Each entry makes a fresh, empty store for one test and returns a unit-of-work factory. Backends
that need a real server get it from the session fixtures in tests/support.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
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
