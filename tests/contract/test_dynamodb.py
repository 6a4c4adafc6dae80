"""What only the DynamoDB adapters promise: the reference item layout, ordering under concurrent
writers, the request count of each operation (docs/access-patterns.md), expiry and failure mapping.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from adapters.dynamodb.client import DynamoDbSettings, make_client
from adapters.dynamodb.forum import DynamoDbForum, DynamoDbForumUnitOfWork, DynamoDbSubscriptionStore
from adapters.dynamodb.forum.table import events_pk
from adapters.dynamodb.tables import forum_table_name
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import OpenPermissions
from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import user_topic
from application.forum import follows, history, messages, threads
from application.forum import handlers as forum_handlers
from application.forum.deps import ForumDeps
from application.forum.ports import Follow, ThreadListQuery
from application.forum.topics import event_publication, thread_topic
from application.shared import Actor, BackendUnavailable, SystemClock
from domain.forum import events as ev
from domain.forum.events import MessagePosted
from domain.forum.model import Thread, ThreadKey, ThreadStatus, ThreadUpdate
from domain.shared import Cursor, utc
from tests.support.dynamodb import ROOT, counted_requests, free_port, fresh_forum

KEY = ThreadKey(item_id=100, participant_id=7)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PARTICIPANT = Actor(user_id=7)


@pytest.fixture
def notifier() -> InProcessNotifier:
    n = InProcessNotifier()
    n.keep_history = True
    return n


@pytest.fixture
def forum(request) -> DynamoDbForum:
    return fresh_forum(request)


@pytest.fixture
def uow(forum, notifier):
    return lambda: DynamoDbForumUnitOfWork(forum, notifier)


@pytest.fixture
def deps(uow) -> ForumDeps:
    return ForumDeps(uow=uow, read_uow=uow, permissions=OpenPermissions(), clock=SystemClock())


@pytest.fixture
def requests(forum):
    """Counts the HTTP requests the client sends, by operation name."""
    with counted_requests(forum.client) as counts:
        yield counts


def open_thread(uow_factory, key=KEY):
    with uow_factory() as uow:
        uow.threads.save(Thread(key, ThreadStatus.WAITING_FOR_TRAINER, 5, 0, T0))
        uow.commit()


def raw_items(forum, pk):
    return forum.client.query(
        TableName=forum.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )["Items"]


# -- layout ---------------------------------------------------------------------------------------


def test_events_keep_the_reference_key_schema_and_attribute_names(forum, uow):
    with uow() as u:
        message = u.events.append(ev.message_posted(KEY, 7, "hello", "u1", T0))
        u.events.append(ev.submission(KEY, 3, 4, T0, score=12.5, validated=True))
        u.commit()
    items = raw_items(forum, "THREADEV#7#100")
    assert [i["type"]["S"] for i in items] == ["message", "submission"]
    first, second = items
    assert first["PK"] == {"S": "THREADEV#7#100"}
    assert int(first["time"]["N"]) == message.seq >= int(T0.timestamp() * 1000)
    assert first["content"] == {"S": "hello"} and "text" not in first
    assert first["user_id"] == {"N": "7"} and first["uuid"] == {"S": "u1"}
    assert second["attempt_id"] == {"N": "3"} and second["answer_id"] == {"N": "4"}
    assert second["score"] == {"N": "12.5"} and second["validated"] == {"BOOL": True}
    with uow() as u:
        got = u.events.after(KEY, 0, 10)
    assert got[0].data == {"text": "hello", "uuid": "u1"}
    assert got[1].data == {"attempt_id": 3, "answer_id": 4, "score": 12.5, "validated": True}


def test_follow_expiry_is_also_a_ttl_in_epoch_seconds(forum, uow):
    expiry = T0 + timedelta(weeks=2, milliseconds=1)
    with uow() as u:
        u.follows.put(Follow(KEY, 9, expiry))
        u.commit()
    (item,) = raw_items(forum, "THREADFOLLOW#7#100")
    assert int(item["ttl"]["N"]) == int(expiry.timestamp()) + 1  # rounded up, never early
    with uow() as u:
        assert u.follows.get(KEY, 9) == Follow(KEY, 9, expiry)


def test_subscriptions_expire_on_read_before_dynamodb_deletes_them(forum):
    subs = DynamoDbSubscriptionStore(forum)
    topic = thread_topic(KEY)
    now = datetime.now(UTC)
    subs.put(TopicSubscription(topic, "c-old", 7, now - timedelta(seconds=1)))
    subs.put(TopicSubscription(topic, "c-new", 8, now + timedelta(hours=2)))
    subs.put(TopicSubscription(topic, "c-anon", None, now + timedelta(hours=2)))
    subs.put(TopicSubscription(user_topic(8), "c-new", 8, now + timedelta(hours=2)))
    rows = raw_items(forum, "THREADSUB#7#100")
    assert len(rows) == 3  # the expired row is still stored: DynamoDB deletes late
    assert all(int(r["ttl"]["N"]) * 1000 >= int(r["expires_at"]["N"]) for r in rows)
    assert sorted(s.connection_id for s in subs.of_topic(topic, now)) == ["c-anon", "c-new"]
    subs.put(TopicSubscription(topic, "c-new", 8, now + timedelta(hours=4)))  # renewal overwrites
    assert len(raw_items(forum, "THREADSUB#7#100")) == 3
    subs.delete(topic, "c-anon")
    (left,) = subs.of_topic(topic, now + timedelta(hours=3))
    assert (left.connection_id, left.user_id, left.expires_at) == ("c-new", 8, utc(now + timedelta(hours=4)))
    assert [s.topic for s in subs.of_topic(user_topic(8), now)] == [user_topic(8)]


# -- order under concurrency ----------------------------------------------------------------------


def test_two_units_appending_in_the_same_millisecond_both_keep_their_events(uow, notifier):
    first, second = uow(), uow()
    with first, second:
        a = first.events.append(ev.message_posted(KEY, 7, "a", "ua", T0))
        b = second.events.append(ev.message_posted(KEY, 8, "b", "ub", T0))
        second.queue(event_publication(b))
        assert a.seq == b.seq  # both read the same counter: the second commit must notice
        first.commit()
        second.commit()
    assert b.seq > a.seq  # renumbered in place before commit returned
    with uow() as u:
        got = u.events.after(KEY, 0, 10)
    assert [(e.data["text"], e.seq) for e in got] == [("a", a.seq), ("b", b.seq)]
    assert all(e.time == T0 for e in got)
    (published,) = notifier.published
    assert published.payload["event"]["cursor"] == Cursor(b.seq).encode()


# 200 posts from 8 threads of one process: tests/contract/test_concurrency.py runs on this backend too.


def post_from_child_process(endpoint: str, table: str, process: int, threads_n: int, posts: int) -> None:
    """Run in a separate interpreter by the test below: posts from several threads of its own."""
    client = make_client(DynamoDbSettings(endpoint_url=endpoint, region="eu-west-3"))
    forum = DynamoDbForum(client, table)
    def uow():
        return DynamoDbForumUnitOfWork(forum, InProcessNotifier())

    deps = ForumDeps(uow, OpenPermissions(), SystemClock(), read_uow=uow)

    def post(worker: int) -> None:
        for i in range(posts):
            messages.post_message(deps, PARTICIPANT, KEY, f"p{process} w{worker} m{i}", f"p{process}-{worker}-{i}")

    with ThreadPoolExecutor(threads_n) as pool:
        list(pool.map(post, range(threads_n)))


def test_200_concurrent_posts_from_two_processes_get_200_increasing_cursors(forum, uow, dynamodb_endpoint):
    open_thread(uow)
    code = (
        "import sys; from tests.contract.test_dynamodb import post_from_child_process as run; "
        "run(sys.argv[1], sys.argv[2], int(sys.argv[3]), 4, 25)"
    )
    children = [
        subprocess.Popen([sys.executable, "-c", code, dynamodb_endpoint, forum.table, str(n)], cwd=ROOT)
        for n in range(2)
    ]
    assert [child.wait(timeout=90) for child in children] == [0, 0]
    with uow() as u:
        stored = u.events.after(KEY, 0, 1000)
        thread = u.threads.get(KEY)
    seqs = [e.seq for e in stored]
    assert len(stored) == 200 and seqs == sorted(set(seqs))
    assert {e.data["uuid"] for e in stored} == {f"p{p}-{w}-{i}" for p in range(2) for w in range(4) for i in range(25)}
    assert thread.message_count == 200


def test_a_retried_post_is_stored_once(deps, uow):
    open_thread(uow)
    first = messages.post_message(deps, PARTICIPANT, KEY, "hi", "same")
    again = messages.post_message(deps, PARTICIPANT, KEY, "hi", "same")
    assert first.created and not again.created and again.message.seq == first.message.seq
    with uow() as u:
        assert len(u.events.after(KEY, 0, 10)) == 1


# -- request counts (docs/access-patterns.md) -----------------------------------------------------


def test_request_counts_of_the_forum_use_cases(deps, uow, requests):
    open_thread(uow)
    requests.clear()
    posted = messages.post_message(deps, PARTICIPANT, KEY, "first", "r1")
    # The post: thread, uuid, per-thread counter and follow are read in one BatchGetItem; every
    # write goes in one transaction (issue 20: it was four GetItems).
    assert requests == {"BatchGetItem": 1, "TransactWriteItems": 1}
    requests.clear()
    # After its commit, the message bus's handler notifies followers: it reads the follows, and
    # stops there when the author is the only follower (no thread read, no subscription Query).
    forum_handlers.notify_message_followers(deps, MessagePosted(posted.message))
    assert requests == {"Query": 1}

    requests.clear()
    messages.post_message(deps, PARTICIPANT, KEY, "first", "r1")
    assert requests == {"BatchGetItem": 1}  # a retry: the same one read, and nothing written

    requests.clear()
    messages.list_messages(deps, PARTICIPANT, KEY, None, 10)
    # The participant may read whatever the thread's state: the page is its one Query (issue 20).
    assert requests == {"Query": 1}

    requests.clear()
    with uow() as u:
        u.events.after(KEY, 0, 50)
    assert requests == {"Query": 1}

    requests.clear()
    threads.get_thread(deps, PARTICIPANT, KEY)
    assert requests == {"GetItem": 2}  # thread, read marker

    requests.clear()
    messages.mark_read(deps, PARTICIPANT, KEY)
    assert requests == {"GetItem": 1, "Query": 1, "TransactWriteItems": 1}

    requests.clear()
    messages.edit_message(deps, PARTICIPANT, KEY, "r1", "first, edited")
    # thread, the message's uuid copy, counter; both copies, the message_edited event, counter
    assert requests == {"GetItem": 3, "TransactWriteItems": 1}

    requests.clear()
    follows.follow_thread(deps, PARTICIPANT, KEY)
    assert requests == {"GetItem": 1, "TransactWriteItems": 1}

    requests.clear()
    history.record_task_event(deps, Actor(None, frozenset({history.TASK_EVENTS_SCOPE})), ev.attempt_started(KEY, 1, T0))
    assert requests == {"GetItem": 1, "TransactWriteItems": 1}  # counter; event and counter

    requests.clear()
    threads.update_thread(deps, PARTICIPANT, KEY, ThreadUpdate(status=ThreadStatus.CLOSED))
    # thread, counter, the follows to expire; status, event, counter and follows in one transaction
    assert requests == {"GetItem": 2, "Query": 1, "TransactWriteItems": 1}

    requests.clear()
    with uow() as u:
        u.threads.list(ThreadListQuery(participant_ids=(7, 8, 9), limit=20))
    assert requests == {"Query": 3}  # one per participant id

    requests.clear()
    with uow() as u:
        u.threads.list(ThreadListQuery(participant_ids=(7, 8, 9), item_id=100, limit=20))
    assert requests == {"BatchGetItem": 1}

    requests.clear()
    with uow() as u:
        u.threads.list(ThreadListQuery(helper_group_id=5, limit=20))
    assert requests == {"Query": 1}


def test_a_messages_page_is_one_query_even_between_task_events(uow, requests):
    with uow() as u:
        for i in range(15):
            u.events.append(ev.message_posted(KEY, 7, f"m{i}", f"u{i}", T0))
            u.events.append(ev.attempt_started(KEY, i, T0))
        u.commit()
    requests.clear()
    with uow() as u:
        page = u.events.before(KEY, None, 5, frozenset({ev.EventType.MESSAGE}))
    assert [e.data["text"] for e in page] == ["m14", "m13", "m12", "m11", "m10"]
    assert requests == {"Query": 1}
    requests.clear()
    with uow() as u:
        page = u.events.before(KEY, None, 15, frozenset({ev.EventType.MESSAGE}))
    assert len(page) == 15
    assert requests == {"Query": 2}  # 25 rows read per Query, half of them filtered out


# -- operations -----------------------------------------------------------------------------------


def test_an_unreachable_endpoint_is_backend_unavailable(forum):
    dead = make_client(DynamoDbSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", region="eu-west-3"))
    uow = DynamoDbForumUnitOfWork(DynamoDbForum(dead, forum.table), InProcessNotifier())
    with uow, pytest.raises(BackendUnavailable) as caught:
        uow.threads.get(KEY)
    assert caught.value.backend == "dynamodb"


def test_cli_creates_the_tables_once(dynamodb_endpoint, monkeypatch):
    from entrypoints.cli.main import main

    prefix = f"cli{os.getpid()}-"
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("PARLEY_DYNAMODB_TABLE_PREFIX", prefix)
    assert main(["dynamodb", "create-tables"]) == 0
    assert main(["dynamodb", "create-tables"]) == 0  # already there: nothing to do, no error
    client = make_client(DynamoDbSettings(endpoint_url=dynamodb_endpoint, region="eu-west-3"))
    table = client.describe_table(TableName=forum_table_name(prefix))["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "time": "RANGE"}
    ttl = client.describe_time_to_live(TableName=forum_table_name(prefix))["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl"
    client.delete_table(TableName=forum_table_name(prefix))


def test_events_partition_key_helper_matches_the_reference():
    assert events_pk(ThreadKey(item_id=3, participant_id=11)) == "THREADEV#11#3"


def test_the_aws_profile_wires_the_dynamodb_unit_of_work(request, dynamodb_endpoint):
    from container import Container, resolve_settings

    forum = fresh_forum(request)
    prefix = forum.table.removesuffix("forum")
    container = Container()
    container.config.from_dict(
        resolve_settings(
            {
                "profile": "aws",
                "auth": "jwt",
                "dynamodb_endpoint_url": dynamodb_endpoint,
                "dynamodb_table_prefix": prefix,
            }
        )
    )
    deps = container.forum.deps()
    with deps.uow() as u:
        assert isinstance(u, DynamoDbForumUnitOfWork)
        u.threads.save(Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 5, 0, T0))
        u.commit()
    with DynamoDbForumUnitOfWork(forum, InProcessNotifier()) as u:
        assert u.threads.get(KEY).helper_group_id == 5


def test_a_throttled_request_is_backend_unavailable(forum):
    from botocore.stub import Stubber

    client = make_client(DynamoDbSettings(endpoint_url="http://127.0.0.1:9", region="eu-west-3"))
    uow = DynamoDbForumUnitOfWork(DynamoDbForum(client, forum.table), InProcessNotifier())
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code="ProvisionedThroughputExceededException")
        with uow, pytest.raises(BackendUnavailable):
            uow.threads.get(KEY)


def test_a_concurrent_status_change_is_a_conflict_not_a_lost_update(uow):
    from domain.shared import Conflict

    open_thread(uow)
    first, second = uow(), uow()
    with first, second:
        for u, status in ((first, ThreadStatus.CLOSED), (second, ThreadStatus.WAITING_FOR_PARTICIPANT)):
            thread = u.threads.get(KEY)
            u.threads.save(Thread(KEY, status, thread.helper_group_id, thread.message_count, T0))
        first.commit()
        with pytest.raises(Conflict):
            second.commit()
    with uow() as u:
        assert u.threads.get(KEY).status == ThreadStatus.CLOSED


def test_thread_lists_page_within_a_latest_update_window(uow):
    rows = [
        Thread(ThreadKey(i, 7), ThreadStatus.WAITING_FOR_TRAINER, 5, 0, T0 + timedelta(minutes=i)) for i in range(1, 9)
    ]
    with uow() as u:
        for t in rows:
            u.threads.save(t)
        u.commit()
    after = (rows[6].latest_update_at, rows[6].key)  # resume below the 7th thread
    for query in (
        ThreadListQuery(participant_ids=(7,), latest_update_gt=rows[2].latest_update_at, after=after, limit=10),
        ThreadListQuery(helper_group_id=5, latest_update_gt=rows[2].latest_update_at, after=after, limit=10),
    ):
        with uow() as u:
            assert [t.key.item_id for t in u.threads.list(query)] == [6, 5, 4]
    empty = ThreadListQuery(participant_ids=(7,), latest_update_gt=rows[7].latest_update_at, after=after, limit=10)
    with uow() as u:
        assert u.threads.list(empty) == []
