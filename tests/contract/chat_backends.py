"""The chat store backends the contract suite runs against: a fresh, empty store per test.

Each entry returns (unit-of-work factory, read-only unit-of-work factory).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory.chat import MemoryChatState, MemoryChatUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.chat.ports import ChatUnitOfWork

UowFactory = Callable[[], ChatUnitOfWork]
Factories = tuple[UowFactory, UowFactory]


def memory_chat(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> Factories:
    state = MemoryChatState()
    factory = lambda: MemoryChatUnitOfWork(state, notifier)  # noqa: E731
    return factory, factory


CHAT_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, InProcessNotifier], Factories]] = {
    "memory": memory_chat,
}


def sqlite_chat(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> Factories:
    from adapters.sql.chat import SqlChatUnitOfWork
    from tests.support.sql import fresh_sqlite

    engine = fresh_sqlite(request).engine
    return (lambda: SqlChatUnitOfWork(engine, notifier)), (lambda: SqlChatUnitOfWork(engine, notifier, read_only=True))


def postgres_chat(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> Factories:
    from adapters.sql.chat import SqlChatUnitOfWork
    from tests.support.sql import fresh_postgres

    engine = fresh_postgres(request).engine
    return (lambda: SqlChatUnitOfWork(engine, notifier)), (lambda: SqlChatUnitOfWork(engine, notifier, read_only=True))


CHAT_BACKENDS["sqlite"] = sqlite_chat
CHAT_BACKENDS["postgres"] = postgres_chat


def dynamodb_chat(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> Factories:
    from adapters.dynamodb.chat import DynamoDbChat, DynamoDbChatUnitOfWork
    from adapters.dynamodb.tables import FORUM_TABLE, chat_table_name
    from tests.support.dynamodb import fresh_forum

    forum = fresh_forum(request)  # creates every table under a prefix of its own
    chat = DynamoDbChat(forum.client, chat_table_name(forum.table.removesuffix(FORUM_TABLE)))
    factory = lambda: DynamoDbChatUnitOfWork(chat, notifier)  # noqa: E731
    return factory, factory


CHAT_BACKENDS["dynamodb"] = dynamodb_chat
