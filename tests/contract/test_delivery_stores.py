"""The NotificationStore and SubscriptionStore ports (application/delivery/), one suite
run against memory, SQLite, PostgreSQL and DynamoDB Local; then what only some adapters promise
(DynamoDB's request counts and item layout), and the container's choice of store per profile.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from adapters.dynamodb.delivery import DynamoDbNotificationStore
from adapters.dynamodb.forum import DynamoDbSubscriptionStore
from adapters.memory.delivery import MemoryNotificationStore, MemorySubscriptionStore
from adapters.sql.delivery import SqlNotificationStore, SqlSubscriptionStore
from application.delivery.notifications import Notification, new_notification_id
from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import Topic, user_topic
from application.forum.notifications import forum_notification
from application.forum.topics import thread_topic
from container import Container, resolve_settings
from domain.forum import events as ev
from domain.forum.model import ThreadKey
from tests.contract.backends import LIVE_BACKENDS
from tests.support.dynamodb import free_port

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ThreadKey(item_id=100, participant_id=7)
OTHER_KEY = ThreadKey(item_id=1000, participant_id=7)  # its topic starts with KEY's topic
MS = timedelta(milliseconds=1)

_seq = iter(range(1, 1_000_000))


def notification(user_id: int, at: datetime, key: ThreadKey = KEY, text: str = "hello") -> Notification:
    event = ev.message_posted(key, 30, text, f"uuid-{next(_seq)}", at).stored(next(_seq))
    return forum_notification(new_notification_id(at), user_id, key, event.to_public(), at)


def newest_first(notifications: list[Notification]) -> list[Notification]:
    return sorted(notifications, key=lambda n: n.id, reverse=True)


@pytest.fixture
def notes(live_stores):
    return live_stores[0]


@pytest.fixture
def subs(live_stores):
    return live_stores[1]


# -- notifications --------------------------------------------------------------------------------


def test_a_page_is_newest_first_and_resumes_after_its_last_id(notes):
    # Pairs share a millisecond: their random suffixes still give them a total order.
    mine = [notification(7, T0 + (i // 2) * MS) for i in range(7)]
    theirs = [notification(8, T0 + i * MS) for i in range(2)]
    shuffled = mine + theirs
    random.Random(6).shuffle(shuffled)
    notes.add(shuffled)
    expected = newest_first(mine)

    first = notes.page(7, None, 3)
    assert first == expected[:3]
    second = notes.page(7, first[-1].id, 3)
    assert second == expected[3:6]
    third = notes.page(7, second[-1].id, 3)
    assert third == expected[6:]
    assert notes.page(7, third[-1].id, 3) == []
    assert notes.page(8, None, 10) == newest_first(theirs)
    assert notes.page(9, None, 10) == []


def test_limit_caps_a_page_and_any_id_is_a_keyset_position(notes):
    mine = [notification(7, T0 + i * 10 * MS) for i in range(5)]
    notes.add(mine)
    expected = newest_first(mine)
    assert notes.page(7, None, 1) == expected[:1]
    assert notes.page(7, None, 100) == expected
    # A position need not be stored (e.g. the last id of a page since deleted): older ids follow it.
    between = new_notification_id(T0 + 25 * MS)
    assert notes.page(7, between, 10) == [n for n in expected if n.id < between] == expected[2:]
    assert notes.page(7, expected[-1].id, 10) == []


def test_notifications_come_back_as_they_were_stored(notes):
    message = notification(7, T0 + 123 * MS, key=OTHER_KEY, text="ça marche ✓ \"quoted\" \n next line")
    grade = ev.grade_updated(KEY, 3, 4, 12.5, T0 + 124 * MS).stored(9)
    graded = forum_notification(new_notification_id(T0 + 124 * MS), 7, KEY, grade.to_public(), T0 + 124 * MS)
    notes.add([message, graded])
    got = notes.page(7, None, 10)
    assert got == [graded, message]
    assert got[0].payload["event"]["score"] == 12.5 and isinstance(got[0].payload["event"]["score"], float)
    assert got[1].topic == thread_topic(OTHER_KEY)
    assert got[1].payload["event"]["text"] == message.payload["event"]["text"]
    assert got[1].to_public() == message.to_public()
    assert all(n.read is False and n.created_at.tzinfo is not None for n in got)


def test_one_add_stores_a_notification_per_follower(notes):
    # notify_followers adds one notification per follower in one call: more than one batch of writes.
    fan_out = [notification(user_id, T0) for user_id in range(100, 160)]
    many_for_one = [notification(7, T0 + i * MS) for i in range(30)]
    notes.add(fan_out + many_for_one)
    notes.add([])  # nothing to store is harmless
    for n in (fan_out[0], fan_out[29], fan_out[-1]):
        assert notes.page(n.user_id, None, 10) == [n]
    assert notes.page(7, None, 100) == newest_first(many_for_one)


def test_only_the_owner_deletes_a_notification(notes):
    mine = [notification(7, T0 + i * MS) for i in range(3)]
    theirs = notification(8, T0)
    notes.add([*mine, theirs])
    target = mine[1]

    assert notes.delete(8, target.id) is False  # someone else's id: nothing happens
    assert notes.page(7, None, 10) == newest_first(mine)
    assert notes.delete(7, target.id) is True
    assert notes.page(7, None, 10) == newest_first([mine[0], mine[2]])
    assert notes.delete(7, target.id) is False  # already gone
    assert notes.delete(7, new_notification_id(T0)) is False  # never existed
    assert notes.page(8, None, 10) == [theirs]


def test_only_the_owner_marks_a_notification_read(notes):
    mine = [notification(7, T0 + i * MS) for i in range(3)]
    theirs = notification(8, T0)
    notes.add([*mine, theirs])
    target = mine[1]

    assert notes.mark_read(8, target.id) is False
    assert [n.read for n in notes.page(7, None, 10)] == [False, False, False]
    assert notes.mark_read(7, target.id) is True
    assert notes.mark_read(7, target.id) is True  # marking again is still a success
    got = {n.id: n for n in notes.page(7, None, 10)}
    assert got[target.id] == replace(target, read=True)
    assert [got[n.id].read for n in (mine[0], mine[2])] == [False, False]
    assert notes.page(8, None, 10) == [theirs]
    assert notes.mark_read(7, new_notification_id(T0)) is False  # never existed
    assert notes.delete(7, target.id) is True
    assert notes.mark_read(7, target.id) is False  # deleted: not brought back by the update
    assert target.id not in {n.id for n in notes.page(7, None, 10)}


# -- live subscriptions ---------------------------------------------------------------------------


def by_connection(subscriptions: list[TopicSubscription]) -> list[TopicSubscription]:
    return sorted(subscriptions, key=lambda s: s.connection_id)


def test_of_topic_lists_the_unexpired_subscriptions_of_that_topic_only(subs):
    topic, other = thread_topic(KEY), thread_topic(OTHER_KEY)
    watching = TopicSubscription(topic, "c1", 7, T0 + timedelta(hours=2))
    anonymous = TopicSubscription(topic, "c2", None, T0 + timedelta(hours=1))
    expired = TopicSubscription(topic, "c3", 8, T0 - timedelta(seconds=1))
    expiring_now = TopicSubscription(topic, "c4", 9, T0)
    same_connection_elsewhere = TopicSubscription(other, "c1", 7, T0 + timedelta(hours=2))
    elsewhere = TopicSubscription(other, "c5", 10, T0 + timedelta(hours=2))
    own_topic = TopicSubscription(user_topic(7), "c1", 7, T0 + timedelta(hours=2))
    for s in (watching, anonymous, expired, expiring_now, same_connection_elsewhere, elsewhere, own_topic):
        subs.put(s)

    assert by_connection(subs.of_topic(topic, T0)) == [watching, anonymous]
    assert by_connection(subs.of_topic(other, T0)) == [same_connection_elsewhere, elsewhere]
    assert subs.of_topic(user_topic(7), T0) == [own_topic]
    assert subs.of_topic(topic, T0 + timedelta(minutes=90)) == [watching]
    everyone = [watching, anonymous, expired, expiring_now]
    assert by_connection(subs.of_topic(topic, T0 - timedelta(seconds=2))) == by_connection(everyone)
    assert subs.of_topic(thread_topic(ThreadKey(item_id=10, participant_id=7)), T0) == []
    assert subs.of_topic(user_topic(70), T0) == []


def test_putting_again_renews_a_subscription(subs):
    topic = thread_topic(KEY)
    subs.put(TopicSubscription(topic, "c1", 7, T0 + timedelta(seconds=1)))
    renewed = TopicSubscription(topic, "c1", 7, T0 + timedelta(hours=2))
    subs.put(renewed)
    assert subs.of_topic(topic, T0) == [renewed]  # one row per (topic, connection)
    assert subs.of_topic(topic, T0 + timedelta(hours=1)) == [renewed]

    subs.put(TopicSubscription(topic, "c2", 8, T0 - timedelta(minutes=1)))
    assert subs.of_topic(topic, T0) == [renewed]
    revived = TopicSubscription(topic, "c2", 8, T0 + timedelta(hours=2))
    subs.put(revived)  # an expired row that is put again counts again
    assert by_connection(subs.of_topic(topic, T0)) == [renewed, revived]


def test_delete_removes_one_connection_from_one_topic(subs):
    topic, other = thread_topic(KEY), thread_topic(OTHER_KEY)
    expires = T0 + timedelta(hours=2)
    a, b = TopicSubscription(topic, "c1", 7, expires), TopicSubscription(topic, "c2", 8, expires)
    a_elsewhere = TopicSubscription(other, "c1", 7, expires)
    for s in (a, b, a_elsewhere):
        subs.put(s)

    subs.delete(topic, "c1")
    assert subs.of_topic(topic, T0) == [b]
    assert subs.of_topic(other, T0) == [a_elsewhere]
    subs.delete(topic, "c1")  # again: harmless
    subs.delete(topic, "never-subscribed")
    subs.delete(user_topic(7), "c1")
    assert subs.of_topic(topic, T0) == [b]
    subs.delete(other, "c1")
    subs.delete(topic, "c2")
    assert subs.of_topic(topic, T0) == [] and subs.of_topic(other, T0) == []
    subs.put(a)  # subscribing after an unsubscribe works
    assert subs.of_topic(topic, T0) == [a]


# -- DynamoDB: one request per operation (docs/access-patterns.md), the documented item layout ----


def test_any_context_s_topic_and_payload_work_unchanged(notes, subs):
    room = Topic("chat", "room", ("lobby",))
    note = Notification(new_notification_id(T0), 7, room, "chat.comment", {"room": "lobby", "text": "hé"}, T0)
    notes.add([note])
    assert notes.page(7, None, 10) == [note]
    assert note.to_public() == {"id": note.id, "type": "chat.comment", "room": "lobby", "text": "hé",
                                "created_at": "2026-01-01T12:00:00.000Z", "read": False}
    watching = TopicSubscription(room, "c1", 7, T0 + timedelta(hours=1))
    subs.put(watching)
    assert subs.of_topic(room, T0) == [watching]
    assert subs.of_topic(Topic("chat", "room", ("lobby2",)), T0) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sql_put_deletes_a_bounded_batch_of_the_topic_s_expired_rows(request, backend):
    from adapters.sql import delivery as sql_delivery
    from adapters.sql import tables as t

    _, shared = LIVE_BACKENDS[backend](request)
    subs = sql_delivery.SqlSubscriptionStore(shared._engine, now=lambda: T0)
    topic, other = thread_topic(KEY), thread_topic(OTHER_KEY)
    expired = sql_delivery.PURGE_BATCH + 5
    c = t.delivery_subscriptions.c
    with subs._engine.begin() as connection:  # rows left by processes that died, as they would be
        connection.execute(t.delivery_subscriptions.insert(), [
            {"topic": of.name, "connection_id": f"old{i:03d}", "user_id": 7,
             "expires_at": T0 - timedelta(seconds=1 + i)}
            for of in (topic, other) for i in range(expired)
        ])

    def rows(of) -> int:
        with subs._engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(t.delivery_subscriptions).where(c.topic == of.name)
            ).scalar_one()

    subs.put(TopicSubscription(topic, "new", 8, T0 + timedelta(minutes=1)))
    assert rows(topic) == expired - sql_delivery.PURGE_BATCH + 1  # one batch gone, the new row added
    subs.put(TopicSubscription(topic, "new", 8, T0 + timedelta(minutes=2)))
    assert rows(topic) == 1 and [s.connection_id for s in subs.of_topic(topic, T0)] == ["new"]
    assert rows(other) == expired  # another topic's rows wait for a put on that topic


@pytest.fixture
def dynamodb_stores(request):
    return LIVE_BACKENDS["dynamodb"](request)


@pytest.fixture
def dynamodb_requests(dynamodb_stores):
    counts: Counter[str] = Counter()

    def count(event_name: str, **_):
        counts[event_name.rsplit(".", 1)[-1]] += 1

    client = dynamodb_stores[0].client
    client.meta.events.register("before-send.dynamodb.*", count)
    yield counts
    client.meta.events.unregister("before-send.dynamodb.*", count)


def test_dynamodb_notifications_cost_one_request_per_operation(dynamodb_stores, dynamodb_requests):
    notes, subs = dynamodb_stores
    mine = [notification(7, T0 + i * MS) for i in range(30)]
    notes.add(mine)
    assert dynamodb_requests == {"BatchWriteItem": 2}  # 25 + 5
    dynamodb_requests.clear()

    page = notes.page(7, None, 10)
    notes.page(7, page[-1].id, 10)
    assert dynamodb_requests == {"Query": 2}
    dynamodb_requests.clear()

    assert notes.mark_read(7, page[0].id) and not notes.mark_read(8, page[0].id)
    assert dynamodb_requests == {"UpdateItem": 2}
    dynamodb_requests.clear()
    assert notes.delete(7, page[0].id) and not notes.delete(8, page[1].id)
    assert dynamodb_requests == {"DeleteItem": 2}
    dynamodb_requests.clear()

    topic = thread_topic(KEY)
    subs.put(TopicSubscription(topic, "c1", 7, T0 + timedelta(hours=2)))
    subs.of_topic(topic, T0)
    subs.delete(topic, "c1")
    assert dynamodb_requests == {"PutItem": 1, "Query": 1, "DeleteItem": 1}


def test_dynamodb_notification_items_follow_the_documented_layout(dynamodb_stores):
    notes, _ = dynamodb_stores
    n = notification(7, T0 + 5 * MS)
    notes.add([n])
    (item,) = notes.client.query(
        TableName=notes.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "NOTIF#7"}},
    )["Items"]
    assert item["SK"] == {"S": n.id}
    assert item["created_at"] == {"N": str(int((T0 + 5 * MS).timestamp() * 1000))}
    assert item["read"] == {"BOOL": False}
    assert (item["topic"], item["type"]) == ({"S": "forum.thread.7.100"}, {"S": "forum.message"})
    payload = json.loads(item["payload"]["S"])
    assert payload == n.payload == {"item_id": "100", "participant_id": "7", "event": n.payload["event"]}


def test_dynamodb_items_from_before_topics_still_read_as_forum_notifications(dynamodb_stores):
    """Items written with item_id, participant_id and event (no topic, type, payload) keep working."""
    notes, _ = dynamodb_stores
    n = notification(7, T0 + 5 * MS)
    notes.client.put_item(
        TableName=notes.table,
        Item={
            "PK": {"S": "NOTIF#7"}, "SK": {"S": n.id}, "user_id": {"N": "7"},
            "item_id": {"N": "100"}, "participant_id": {"N": "7"},
            "event": {"S": json.dumps(n.payload["event"])},
            "created_at": {"N": str(int((T0 + 5 * MS).timestamp() * 1000))}, "read": {"BOOL": False},
        },
    )
    assert notes.page(7, None, 10) == [n]
    assert notes.mark_read(7, n.id) and notes.page(7, None, 10)[0].to_public()["read"] is True


def test_create_tables_makes_the_notifications_table(dynamodb_endpoint, monkeypatch):
    from adapters.dynamodb.tables import forum_table_name, notifications_table_name
    from entrypoints.cli.main import main
    from tests.support.dynamodb import local_client

    prefix = f"live{uuid.uuid4().hex[:8]}-"
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("PARLEY_DYNAMODB_TABLE_PREFIX", prefix)
    client = local_client(dynamodb_endpoint)
    try:
        assert main(["dynamodb", "create-tables"]) == 0
        table = client.describe_table(TableName=notifications_table_name(prefix))["Table"]
        assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}
        assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {"PK": "S", "SK": "S"}
        assert main(["dynamodb", "create-tables"]) == 0  # both exist now: nothing to do, no error
    finally:
        for name in (forum_table_name(prefix), notifications_table_name(prefix)):
            client.delete_table(TableName=name)


# -- the container: every process of a profile shares the same stores ----------------------------


@pytest.mark.parametrize(
    ("profile", "notification_store", "subscription_store"),
    [
        ("memory", MemoryNotificationStore, MemorySubscriptionStore),
        ("embedded", SqlNotificationStore, SqlSubscriptionStore),
        ("postgres", SqlNotificationStore, SqlSubscriptionStore),
        ("algorea", SqlNotificationStore, DynamoDbSubscriptionStore),  # DESIGN.md §3
        ("aws", DynamoDbNotificationStore, DynamoDbSubscriptionStore),
    ],
)
def test_the_container_picks_the_live_stores_by_profile(tmp_path, profile, notification_store, subscription_store):
    database_url = (
        f"sqlite:///{tmp_path}/p.sqlite3"
        if profile == "embedded"
        else f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"  # never connected to here
    )
    settings = {
        "profile": profile,
        "database_url": database_url,
        "dynamodb_endpoint_url": f"http://127.0.0.1:{free_port()}",
        "dynamodb_table_prefix": "pfx-",
    }
    container = Container()
    container.config.from_dict(resolve_settings(settings))
    try:
        notes, subs = container.core.notification_store(), container.core.subscription_store()
        assert type(notes) is notification_store and type(subs) is subscription_store
        assert container.core.notification_store() is notes and container.core.subscription_store() is subs
        forum = container.forum.deps()
        assert forum.notifications is notes and forum.subscriptions is subs
        if profile in ("embedded", "postgres", "algorea"):
            assert notes._engine is container.core.sql_engine()
        if profile in ("embedded", "postgres"):
            assert subs._engine is container.core.sql_engine()
        if profile == "aws":
            assert notes.table == "pfx-notifications" and notes.client is container.core.dynamodb_client()
    finally:
        if profile in ("embedded", "postgres", "algorea"):
            container.core.sql_engine().dispose()


def test_two_embedded_processes_share_notifications(tmp_path, monkeypatch):
    """A notification stored through one app is listed, marked read and deleted through another."""
    from entrypoints.cli.main import main
    from entrypoints.http.app import create_app
    from tests.contract.test_sql import GRANTS

    path = tmp_path / "parley.sqlite3"
    doc = tmp_path / "grants.json"
    doc.write_text(json.dumps(GRANTS))
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{path}")
    assert main(["grants", "import", str(doc)]) == 0
    settings = {"profile": "embedded", "auth": "dev", "grants": "tables", "database_url": f"sqlite:///{path}"}
    first, second = create_app(settings), create_app(settings)
    participant, watcher = {"X-Parley-User": "7"}, {"X-Parley-User": "30"}
    thread_url = "/forum/items/100/participant/7/thread"
    try:
        one, other = first.test_client(), second.test_client()
        opening = {"status": "waiting_for_trainer", "helper_group_id": "50"}
        opened = one.put(thread_url, json=opening, headers=participant)
        assert opened.status_code == 200, opened.get_json()  # the participant now follows the thread
        posted = one.post(thread_url + "/messages", json={"text": "look", "uuid": "u1"}, headers=watcher)
        assert posted.status_code == 201, posted.get_json()
        # The server profiles notify followers after the response (the message bus's background runner);
        # the endpoints run on the container wired last, so both apps' buses are drained.
        assert all(app.container.message_bus().runner.drain(10) for app in (first, second))

        listed = other.get("/forum/notifications", headers=participant)
        assert listed.status_code == 200
        (note,) = listed.get_json()
        assert (note["item_id"], note["participant_id"], note["event"]["text"]) == ("100", "7", "look")
        assert note["read"] is False
        assert other.get("/forum/notifications", headers=watcher).get_json() == []  # the author is not notified

        assert one.put(f"/forum/notifications/{note['id']}/read", headers=participant).status_code == 200
        assert other.get("/forum/notifications", headers=participant).get_json()[0]["read"] is True
        assert other.delete(f"/forum/notifications/{note['id']}", headers=watcher).status_code == 404
        assert other.delete(f"/forum/notifications/{note['id']}", headers=participant).status_code == 200
        assert one.get("/forum/notifications", headers=participant).get_json() == []
    finally:
        for app in (first, second):
            app.container.unwire()
            app.container.core.sql_engine().dispose()
