"""How many requests a post and a page of messages cost the backend (issue 20), counted with the
drivers' own hooks rather than inferred from timings.

PostgreSQL: every round trip SQLAlchemy makes on the application's engine (the production one,
`create_postgres_engine`): BEGIN, each statement, COMMIT, and any pool pre-ping. DynamoDB: every
call botocore makes (`before-call.dynamodb.*` on the client), by operation.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import OpenPermissions
from application.forum import messages, threads
from application.forum.deps import ForumDeps
from application.shared import Actor, SystemClock
from domain.forum.model import ThreadKey, ThreadStatus, ThreadUpdate

KEY = ThreadKey(item_id=7, participant_id=42)
AUTHOR = Actor(user_id=42)
MAX_POSTGRES_ROUND_TRIPS = 6
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def _deps(uow, read_uow) -> ForumDeps:
    return ForumDeps(uow=uow, read_uow=read_uow, permissions=OpenPermissions(), clock=SystemClock())


def _open_thread_and_post_once(deps: ForumDeps) -> None:
    # The first post also makes the author a follower; the posts counted are the usual ones after it.
    threads.update_thread(deps, AUTHOR, KEY, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=5))
    messages.post_message(deps, AUTHOR, KEY, "first", "count-0")


# -- PostgreSQL ---------------------------------------------------------------------------------


class RoundTrips:
    """BEGIN, every statement sent, COMMIT and ROLLBACK, and pre-pings, on one engine."""

    def __init__(self, engine: sa.Engine):
        self.seen: list[str] = []
        sa.event.listen(engine, "begin", lambda _conn: self.seen.append("BEGIN"))
        sa.event.listen(engine, "commit", lambda _conn: self.seen.append("COMMIT"))
        sa.event.listen(engine, "rollback", lambda _conn: self.seen.append("ROLLBACK"))
        sa.event.listen(
            engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: self.seen.append(statement.split()[0])
        )
        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection):
            self.seen.append("PING")
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted_ping

    def during(self, action) -> list[str]:
        self.seen.clear()
        action()
        return list(self.seen)


@pytest.fixture
def postgres_app_engine(request, postgres_url):
    from adapters.sql.engine import create_postgres_engine
    from tests.support.sql import fresh_postgres

    fresh_postgres(request)  # migrated and emptied
    engine = create_postgres_engine(postgres_url)
    request.addfinalizer(engine.dispose)
    return engine


@pytest.mark.integration
def test_a_post_on_postgresql_takes_at_most_six_round_trips(postgres_app_engine):
    from adapters.sql.forum import SqlForumUnitOfWork

    engine, notifier = postgres_app_engine, InProcessNotifier()
    deps = _deps(
        lambda: SqlForumUnitOfWork(engine, notifier), lambda: SqlForumUnitOfWork(engine, notifier, read_only=True)
    )
    _open_thread_and_post_once(deps)
    trips = RoundTrips(engine)

    posted = trips.during(lambda: messages.post_message(deps, AUTHOR, KEY, "second", "count-1"))
    assert "PING" not in posted, posted
    assert posted[0] == "BEGIN" and posted[-1] == "COMMIT", posted
    assert len(posted) <= MAX_POSTGRES_ROUND_TRIPS, posted

    # A retry of the same uuid is answered from the same one read, and stores nothing.
    replayed = trips.during(lambda: messages.post_message(deps, AUTHOR, KEY, "second", "count-1"))
    assert len(replayed) <= 3, replayed
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM thread_events WHERE type = 'message'")).scalar()
    assert stored == 2

    # A page: the keyset query alone between BEGIN and its end (the participant needs no thread read).
    paged = trips.during(lambda: messages.list_messages(deps, AUTHOR, KEY, None, 20))
    assert [s for s in paged if s not in ("BEGIN", "COMMIT", "ROLLBACK")] == ["SELECT"], paged


# -- DynamoDB -----------------------------------------------------------------------------------


class DynamoDbCalls:
    """Calls by operation name; the client is the test session's, so the hook is removed after."""

    def __init__(self, client, request):
        self.seen: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb.*", self._count)
        request.addfinalizer(lambda: client.meta.events.unregister("before-call.dynamodb.*", self._count))

    def _count(self, model, **_kwargs) -> None:
        self.seen[model.name] += 1

    def during(self, action) -> Counter[str]:
        self.seen.clear()
        action()
        return Counter(self.seen)


@pytest.mark.integration
def test_on_dynamodb_a_post_is_one_transaction_and_one_read_and_a_page_one_query(request):
    from adapters.dynamodb.forum import DynamoDbForumUnitOfWork
    from tests.support.dynamodb import fresh_forum

    forum, notifier = fresh_forum(request), InProcessNotifier()
    deps = _deps(lambda: DynamoDbForumUnitOfWork(forum, notifier), lambda: DynamoDbForumUnitOfWork(forum, notifier))
    _open_thread_and_post_once(deps)
    calls = DynamoDbCalls(forum.client, request)

    posted = calls.during(lambda: messages.post_message(deps, AUTHOR, KEY, "second", "count-1"))
    assert posted["TransactWriteItems"] == 1, posted
    assert sum(n for op, n in posted.items() if op in READS) <= 1, posted
    assert set(posted) <= READS | {"TransactWriteItems"}, posted

    replayed = calls.during(lambda: messages.post_message(deps, AUTHOR, KEY, "second", "count-1"))
    assert replayed.get("TransactWriteItems", 0) == 0 and sum(replayed.values()) <= 1, replayed
    page: list = []
    paged = calls.during(lambda: page.extend(messages.list_messages(deps, AUTHOR, KEY, None, 20)))
    assert paged == {"Query": 1}, paged
    assert [m.data["text"] for m in page] == ["second", "first"]
