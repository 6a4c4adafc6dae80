"""The `algorea` profile's outbox (DESIGN.md §3.3): status in SQL, events in DynamoDB.

A crash is injected between the SQL commit and the relay to DynamoDB; afterwards a relay pass
makes the two stores agree, with every event in DynamoDB exactly once and in order.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from adapters.dynamodb.outbox import AlgoreaForumUnitOfWork, OutboxRelay
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import OpenPermissions
from adapters.sql.forum import SqlForumUnitOfWork
from application.forum import messages, threads
from application.forum.deps import ForumDeps
from application.shared import Actor, SystemClock
from domain.forum.model import ThreadKey, ThreadStatus, ThreadUpdate
from tests.support.dynamodb import counted_requests, fresh_forum
from tests.support.sql import fresh_database

KEY = ThreadKey(item_id=100, participant_id=7)
PARTICIPANT = Actor(user_id=7)
OPEN = ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=5)


class ProcessDied(BaseException):
    """Stands for the process dying: nothing after the raise runs, nothing catches it."""


class CrashingRelay(OutboxRelay):
    def relay(self, key):
        raise ProcessDied()


@pytest.fixture
def stores(request):
    return fresh_database(request, "sqlite").engine, fresh_forum(request)


def deps_for(engine, forum, relay=None) -> ForumDeps:
    notifier = InProcessNotifier()

    def uow():
        return AlgoreaForumUnitOfWork(engine, forum, notifier, relay)

    return ForumDeps(
        uow=uow,
        read_uow=uow,
        permissions=OpenPermissions(),
        clock=SystemClock(),
    )


def published(forum) -> list[dict]:
    items = forum.client.query(
        TableName=forum.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "THREADEV#7#100"}},
        ConsistentRead=True,
    )["Items"]
    return [
        {"time": int(i["time"]["N"]), "type": i["type"]["S"], "content": i.get("content", {}).get("S")} for i in items
    ]


def in_sql(engine):
    with SqlForumUnitOfWork(engine, InProcessNotifier()) as sql:
        return sql.threads.get(KEY), [(e.seq, str(e.type)) for e in sql.events.after(KEY, 0, 100)]


def test_a_crash_between_the_sql_commit_and_the_relay_is_repaired_exactly_once(stores):
    engine, forum = stores
    since = datetime.now(UTC) - timedelta(seconds=1)
    crashing = deps_for(engine, forum, CrashingRelay(engine, forum))
    with pytest.raises(ProcessDied):
        threads.update_thread(crashing, PARTICIPANT, KEY, OPEN)
    with pytest.raises(ProcessDied):
        messages.post_message(crashing, PARTICIPANT, KEY, "hello", "m1")
    thread, events = in_sql(engine)
    assert thread.status == ThreadStatus.WAITING_FOR_TRAINER and thread.message_count == 1
    assert events == [(1, "thread_opened"), (2, "message")]
    assert published(forum) == []  # the crash came before anything reached DynamoDB

    relay = OutboxRelay(engine, forum)
    assert relay.relay_recent(since) == 2
    assert relay.relay_recent(since) == 0  # a second pass finds nothing to do
    assert published(forum) == [
        {"time": 1, "type": "thread_opened", "content": None},
        {"time": 2, "type": "message", "content": "hello"},
    ]
    # the retried post is answered from the outbox, not stored twice
    healthy = deps_for(engine, forum)
    again = messages.post_message(healthy, PARTICIPANT, KEY, "hello", "m1")
    assert not again.created and again.message.seq == 2
    assert len(published(forum)) == 2


def test_committed_events_are_published_at_once_and_read_from_dynamodb(stores):
    engine, forum = stores
    deps = deps_for(engine, forum)
    threads.update_thread(deps, PARTICIPANT, KEY, OPEN)
    with counted_requests(forum.client) as sent:
        posted = messages.post_message(deps, PARTICIPANT, KEY, "first", "m1").message
    assert sent == {"GetItem": 2, "TransactWriteItems": 1}  # docs/access-patterns.md, algorea profile
    messages.edit_message(deps, PARTICIPANT, KEY, "m1", "first, edited")
    assert [e["type"] for e in published(forum)] == ["thread_opened", "message", "message_edited"]
    assert published(forum)[1]["content"] == "first, edited"  # the edit re-published the message
    history = messages.list_messages(deps, PARTICIPANT, KEY, None, 10)
    assert [(m.seq, m.data["text"]) for m in history] == [(posted.seq, "first, edited")]


def test_concurrent_relays_publish_each_event_once_in_order(stores):
    engine, forum = stores
    deps = deps_for(engine, forum, CrashingRelay(engine, forum))
    with pytest.raises(ProcessDied):
        threads.update_thread(deps, PARTICIPANT, KEY, OPEN)
    for i in range(30):
        with pytest.raises(ProcessDied):
            messages.post_message(deps, PARTICIPANT, KEY, f"m{i}", f"u{i}")
    start = threading.Barrier(4)

    def relay(_: int) -> int:
        start.wait()
        return OutboxRelay(engine, forum).relay(KEY)

    with ThreadPoolExecutor(4) as pool:
        copied = list(pool.map(relay, range(4)))
    assert sum(copied) == 31
    assert [e["time"] for e in published(forum)] == list(range(1, 32))


def test_the_algorea_profile_wires_the_outbox_and_the_cli_relays(request, dynamodb_endpoint, monkeypatch, capsys):
    from container import Container, resolve_settings
    from entrypoints.cli.main import main
    from tests.support.sql import fresh_postgres

    database = fresh_postgres(request)
    forum = fresh_forum(request)
    settings = {
        "profile": "algorea",
        "auth": "jwt",
        "database_url": database.url,
        "dynamodb_endpoint_url": dynamodb_endpoint,
        "dynamodb_table_prefix": forum.table.removesuffix("forum"),
    }
    container = Container()
    container.config.from_dict(resolve_settings(settings))
    with container.forum.deps().uow() as u:
        assert isinstance(u, AlgoreaForumUnitOfWork)
    crashing = deps_for(database.engine, forum, CrashingRelay(database.engine, forum))
    with pytest.raises(ProcessDied):
        threads.update_thread(crashing, PARTICIPANT, KEY, OPEN)
    for name, value in settings.items():
        monkeypatch.setenv(f"PARLEY_{name.upper()}", value)
    assert main(["dynamodb", "relay", "--since", "1h"]) == 0
    assert "relayed 1 event(s)" in capsys.readouterr().out
    assert [e["type"] for e in published(forum)] == ["thread_opened"]
