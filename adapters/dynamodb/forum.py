"""Forum ports on DynamoDB: threads, events, follows, read markers, subscriptions.

Item kinds in the forum table (partition key `PK`, sort key `time`, the AlgoREA data model's
schema; attribute names follow it: `type`, `user_id`, a message's text as `content`):

    THREADEV#{participant}#{item}          time = the event's cursor   one item per event
    THREADSEQ#{participant}#{item}         time = 0                    `last_time`: the newest event's time
    THREADMSG#{participant}#{item}#{uuid}  time = 0                    a copy of the message, `seq` = its time
    THREAD#{participant}#{item}            time = 0                    thread state, listed through two GSIs
    THREADFOLLOW#{participant}#{item}      time = user id              `expires_at` (ms) and `ttl` (s)
    THREADREAD#{participant}#{item}        time = user id              read marker
    THREADSUB#{participant}#{item}         time = connection digest    `connection_id`, `user_id`, `ttl` (s)

Order. An event's `time` is max(its own time in ms, the thread's last time + 1): close to the
wall clock as in AlgoREA, yet strictly increasing per thread whatever the writers' clocks say. The
unit of work reads THREADSEQ when it first appends to a thread and commits the new `last_time` with
a condition on the value it read, in the same TransactWriteItems as the events (each a conditional
put): commits of one thread are therefore serial in cursor order, so a reader resuming from a
cursor never skips an event committed later. A writer that lost the race re-reads the counter,
renumbers its events (and the cursors of its queued publications) and tries again, a bounded number
of times.

Writes are buffered and sent as one TransactWriteItems at commit; reads in the unit of work see the
unit's own writes. See docs/access-patterns.md for the request each operation costs.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid as uuid_module
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from adapters.dynamodb.client import DynamoDbSettings, call, error_code, make_client
from adapters.dynamodb.tables import BY_HELPER_GROUP_INDEX, BY_PARTICIPANT_INDEX, forum_table_name
from application.forum.notifications import LiveSubscription
from application.forum.ports import Follow, MessageUuidTaken, ReadMarker, ThreadListQuery
from application.shared import BackendUnavailable, Notifier
from application.unit_of_work import UnitOfWorkBase
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from domain.shared import Conflict, Cursor, utc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
MAX_TRANSACT_ITEMS = 100
COMMIT_ATTEMPTS = 40
# A messages-only page filters other events out after DynamoDB's Limit; reading a few more rows than
# asked keeps it to one Query unless many task events sit between the messages.
FILTER_HEADROOM = 10
BATCH_GET_MAX = 100
# How long a writer waits for another unit of this process writing to the same thread before it
# goes ahead anyway and lets the conditional counter sort them out.
LOCAL_QUEUE_TIMEOUT = 5.0

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# -- keys -----------------------------------------------------------------------------------------


def _tid(key: ThreadKey) -> str:
    return f"{key.participant_id}#{key.item_id}"


def events_pk(key: ThreadKey) -> str:
    return f"THREADEV#{_tid(key)}"


def counter_pk(key: ThreadKey) -> str:
    return f"THREADSEQ#{_tid(key)}"


def message_pk(key: ThreadKey, uuid: str) -> str:
    return f"THREADMSG#{_tid(key)}#{uuid}"


def thread_pk(key: ThreadKey) -> str:
    return f"THREAD#{_tid(key)}"


def follows_pk(key: ThreadKey) -> str:
    return f"THREADFOLLOW#{_tid(key)}"


def read_markers_pk(key: ThreadKey) -> str:
    return f"THREADREAD#{_tid(key)}"


def subscriptions_pk(key: ThreadKey) -> str:
    return f"THREADSUB#{_tid(key)}"


def thread_order(latest_update_at: datetime | None, key: ThreadKey) -> str:
    """GSI sort key: fixed-width so string order is (latest_update_at, item_id, participant_id) order."""
    return f"{to_ms(latest_update_at) if latest_update_at else 0:015d}#{key.item_id:019d}#{key.participant_id:019d}"


def item_key(pk: str, sk: int) -> dict[str, Any]:
    return {"PK": {"S": pk}, "time": {"N": str(sk)}}


# -- values ---------------------------------------------------------------------------------------


def to_ms(dt: datetime) -> int:
    return (utc(dt) - EPOCH) // ONE_MS


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * ONE_MS


# Numbers come back as Decimal; these stay floats even when they happen to be whole.
FLOAT_FIELDS = frozenset({"score"})


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any, name: str = "") -> Any:
    if isinstance(value, Decimal):
        if name in FLOAT_FIELDS or value != value.to_integral_value():
            return float(value)
        return int(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def serialize(plain: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in plain.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_deserializer.deserialize(v), k) for k, v in item.items()}


# -- events ---------------------------------------------------------------------------------------

# The API says `text`, the reference's items say `content` (DESIGN.md §3.1).
TO_ITEM_NAMES = {"text": "content"}
FROM_ITEM_NAMES = {v: k for k, v in TO_ITEM_NAMES.items()}
EVENT_ATTRIBUTES = frozenset({"PK", "time", "type", "user_id", "created_at", "seq", "content"})


def event_item(event: StoredEvent, pk: str | None = None, sk: int | None = None) -> dict[str, Any]:
    """The item of an event (or, with pk/sk, of its copy under the message's uuid)."""
    plain: dict[str, Any] = {
        "PK": pk or events_pk(event.key),
        "time": event.seq if sk is None else sk,
        "type": str(event.type),
        "created_at": to_ms(event.time),
    }
    if sk is not None:
        plain["seq"] = event.seq
    if event.user_id is not None:
        plain["user_id"] = event.user_id
    for name, value in event.data.items():
        stored_name = TO_ITEM_NAMES.get(name, name)
        if stored_name in EVENT_ATTRIBUTES and stored_name not in FROM_ITEM_NAMES:
            raise ValueError(f"event field {name!r} clashes with an item attribute")
        plain[stored_name] = value
    return serialize(plain)


def event_from_item(key: ThreadKey, item: dict[str, Any]) -> StoredEvent:
    plain = deserialize(item)
    seq = plain.pop("seq", None)
    sk = plain.pop("time")
    plain.pop("PK", None)
    event_type = EventType(plain.pop("type"))
    created = from_ms(plain.pop("created_at"))
    user_id = plain.pop("user_id", None)
    data = {FROM_ITEM_NAMES.get(name, name): value for name, value in plain.items()}
    return StoredEvent(key, event_type, created, user_id, data, seq if seq is not None else sk)


def _message_uuid(event: ThreadEvent) -> str | None:
    return event.data.get("uuid") if event.type == EventType.MESSAGE else None


# -- threads, follows, read markers ---------------------------------------------------------------


def thread_item(thread: Thread) -> dict[str, Any]:
    plain = _thread_attributes(thread)
    plain.update(PK=thread_pk(thread.key), time=0, message_count=thread.message_count)
    return serialize({k: v for k, v in plain.items() if v is not None})


def _thread_attributes(thread: Thread) -> dict[str, Any]:
    key = thread.key
    helper = thread.helper_group_id
    return {
        "item_id": key.item_id,
        "participant_id": key.participant_id,
        "status": str(thread.status),
        "helper_group_id": helper,
        "latest_update_at": to_ms(thread.latest_update_at) if thread.latest_update_at else None,
        # Sparse GSI keys: only thread items carry them, so the indexes hold nothing else.
        "participant_pk": f"P#{key.participant_id}",
        "helper_pk": None if helper is None else f"H#{helper}",
        "thread_order": thread_order(thread.latest_update_at, key),
    }


def thread_from_item(item: dict[str, Any]) -> Thread | None:
    plain = deserialize(item)
    if "status" not in plain:
        return None
    latest = plain.get("latest_update_at")
    return Thread(
        ThreadKey(plain["item_id"], plain["participant_id"]),
        ThreadStatus(plain["status"]),
        plain.get("helper_group_id"),
        plain.get("message_count", 0),
        None if latest is None else from_ms(latest),
    )


def follow_item(follow: Follow) -> dict[str, Any]:
    plain: dict[str, Any] = {"PK": follows_pk(follow.key), "time": follow.user_id, "user_id": follow.user_id}
    if follow.expires_at is not None:
        ms = to_ms(follow.expires_at)
        plain["expires_at"] = ms
        plain["ttl"] = -(-ms // 1000)  # DynamoDB's TTL is in whole seconds; never delete early
    return serialize(plain)


def follow_from_item(key: ThreadKey, item: dict[str, Any]) -> Follow:
    plain = deserialize(item)
    expires = plain.get("expires_at")
    return Follow(key, plain["user_id"], None if expires is None else from_ms(expires))


def marker_item(marker: ReadMarker) -> dict[str, Any]:
    return serialize(
        {
            "PK": read_markers_pk(marker.key),
            "time": marker.user_id,
            "user_id": marker.user_id,
            "seen_message_count": marker.seen_message_count,
            "last_seq": marker.last_seq,
        }
    )


# -- the store ------------------------------------------------------------------------------------


class DynamoDbForum:
    """The client and the table name; one per process, shared by every unit of work."""

    def __init__(self, client, table_name: str):
        self.client = client
        self.table = table_name

    @classmethod
    def from_settings(cls, settings: DynamoDbSettings | dict[str, Any] | None) -> DynamoDbForum:
        if not isinstance(settings, DynamoDbSettings):
            settings = DynamoDbSettings.from_settings(settings)
        return cls(make_client(settings), forum_table_name(settings.table_prefix))

    def get_item(self, pk: str, sk: int) -> dict[str, Any] | None:
        answer = call(self.client.get_item, TableName=self.table, Key=item_key(pk, sk), ConsistentRead=True)
        return answer.get("Item")

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return call(self.client.query, TableName=self.table, **kwargs)

    def query_all(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            answer = self.query(**kwargs)
            yield from answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


_local_locks: weakref.WeakValueDictionary[tuple[str, ThreadKey], threading.RLock] = weakref.WeakValueDictionary()
_local_locks_guard = threading.Lock()


def _local_lock(table: str, key: ThreadKey) -> threading.RLock:
    """Units of one process that write to one thread queue here rather than race.

    Racing is correct (the losers renumber and retry) but every lost race costs a transaction and
    a counter read; across processes the conditional counter remains the only arbiter.
    """
    with _local_locks_guard:
        lock = _local_locks.get((table, key))
        if lock is None:
            lock = _local_locks[(table, key)] = threading.RLock()
        return lock


@dataclass
class _Counter:
    read: int | None  # last_time as read from THREADSEQ (None: no event yet)
    last: int  # the newest time handed out in this unit


class _UnitState:
    """What a unit of work has read and buffered; reset at begin, rollback and after commit."""

    def __init__(self) -> None:
        self.counters: dict[ThreadKey, _Counter] = {}
        self.appended: dict[ThreadKey, list[StoredEvent]] = {}
        self.handed_out: list[StoredEvent] = []
        self.messages: dict[tuple[ThreadKey, str], StoredEvent | None] = {}
        self.replaced: dict[tuple[ThreadKey, int], StoredEvent] = {}
        self.loaded_threads: dict[ThreadKey, Thread | None] = {}
        self.saved_threads: dict[ThreadKey, Thread] = {}
        self.follows: dict[tuple[ThreadKey, int], Follow | None] = {}
        self.markers: dict[tuple[ThreadKey, int], ReadMarker] = {}


class DynamoDbThreadRepository:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def get(self, key: ThreadKey) -> Thread | None:
        state = self._unit.state
        if key in state.saved_threads:
            return state.saved_threads[key]
        if key not in state.loaded_threads:
            item = self._forum.get_item(thread_pk(key), 0)
            state.loaded_threads[key] = None if item is None else thread_from_item(item)
        return state.loaded_threads[key]

    def save(self, thread: Thread) -> None:
        self._unit.state.saved_threads[thread.key] = thread

    def list(self, query: ThreadListQuery) -> list[Thread]:
        if query.participant_ids is not None and query.item_id is not None:
            rows = self._get_threads(ThreadKey(query.item_id, p) for p in query.participant_ids)
        elif query.participant_ids is not None:
            rows = [
                t
                for p in dict.fromkeys(query.participant_ids)
                for t in self._query_index(BY_PARTICIPANT_INDEX, "participant_pk", f"P#{p}", query)
            ]
        elif query.helper_group_id is not None:
            rows = self._query_index(BY_HELPER_GROUP_INDEX, "helper_pk", f"H#{query.helper_group_id}", query)
        else:
            return []
        rows = [t for t in rows if _matches(t, query)]
        rows.sort(key=lambda t: thread_order(t.latest_update_at, t.key), reverse=True)
        return rows[: query.limit]

    def _query_index(self, index: str, hash_name: str, hash_value: str, query: ThreadListQuery) -> list[Thread]:
        """One Query per page of `limit` matching threads, newest first, from the keyset position."""
        names = {"#h": hash_name}
        values: dict[str, Any] = {":h": {"S": hash_value}}
        upper = thread_order(*query.after) if query.after else None
        lower = f"{to_ms(query.latest_update_gt) + 1:015d}" if query.latest_update_gt else None
        condition = "#h = :h"
        if upper is not None or lower is not None:
            names["#o"] = "thread_order"
        if upper is not None and lower is not None:
            if upper < lower:
                return []
            # BETWEEN is inclusive: the row at the keyset position itself is dropped by _matches.
            condition += " AND #o BETWEEN :lo AND :hi"
            values.update({":lo": {"S": lower}, ":hi": {"S": upper}})
        elif upper is not None:
            condition += " AND #o < :hi"
            values[":hi"] = {"S": upper}
        elif lower is not None:
            condition += " AND #o >= :lo"
            values[":lo"] = {"S": lower}
        filters = []
        if query.status is not None:
            filters.append("#st = :st")
            names["#st"] = "status"
            values[":st"] = {"S": str(query.status)}
        if query.item_id is not None:
            filters.append("item_id = :item")
            values[":item"] = {"N": str(query.item_id)}
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        found: list[Thread] = []
        while len(found) < query.limit:
            answer = self._forum.query(**kwargs)
            found += [t for t in map(thread_from_item, answer.get("Items", [])) if t is not None]
            if "LastEvaluatedKey" not in answer:
                break
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return found

    def _get_threads(self, keys: Iterable[ThreadKey]) -> list[Thread]:
        """One BatchGetItem per 100 participants: the thread of one item is a known key for each."""
        pending = [item_key(thread_pk(k), 0) for k in dict.fromkeys(keys)]
        found: list[Thread] = []
        while pending:
            batch, pending = pending[:BATCH_GET_MAX], pending[BATCH_GET_MAX:]
            request = {self._forum.table: {"Keys": batch, "ConsistentRead": True}}
            while request:
                answer = call(self._forum.client.batch_get_item, RequestItems=request)
                items = answer.get("Responses", {}).get(self._forum.table, [])
                found += [t for t in map(thread_from_item, items) if t is not None]
                request = answer.get("UnprocessedKeys") or None
        return found


def _matches(thread: Thread, q: ThreadListQuery) -> bool:
    if q.item_id is not None and thread.key.item_id != q.item_id:
        return False
    if q.status is not None and thread.status != q.status:
        return False
    latest = thread.latest_update_at
    if q.latest_update_gt is not None and not (latest and latest > q.latest_update_gt):
        return False
    if q.helper_group_id is not None and thread.helper_group_id != q.helper_group_id:
        return False
    if q.participant_ids is not None and thread.key.participant_id not in q.participant_ids:
        return False
    if q.after is not None:
        after_time, after_key = q.after
        return thread_order(thread.latest_update_at, thread.key) < thread_order(after_time, after_key)
    return True


class DynamoDbEventStore:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def append(self, event: ThreadEvent) -> StoredEvent:
        state = self._unit.state
        uuid = _message_uuid(event)
        if uuid is not None and self.find_message(event.key, uuid) is not None:
            raise MessageUuidTaken(uuid)
        counter = state.counters.get(event.key)
        if counter is None:
            self._unit.queue_locally(event.key)
            counter = state.counters[event.key] = self._unit.read_counter(event.key)
        counter.last = max(to_ms(event.time), counter.last + 1)
        stored = event.stored(counter.last)
        state.appended.setdefault(event.key, []).append(stored)
        state.handed_out.append(stored)
        if uuid is not None:
            state.messages[(event.key, uuid)] = stored
        return stored

    def after(self, key: ThreadKey, after_seq: int, limit: int) -> list[StoredEvent]:
        if limit <= 0:
            return []
        answer = self._forum.query(
            KeyConditionExpression="PK = :pk AND #t > :after",
            ExpressionAttributeNames={"#t": "time"},
            ExpressionAttributeValues={":pk": {"S": events_pk(key)}, ":after": {"N": str(after_seq)}},
            ConsistentRead=True,
            Limit=limit,
        )
        found = [self._current(event_from_item(key, item)) for item in answer.get("Items", [])]
        found += [e for e in self._unit.state.appended.get(key, []) if e.seq > after_seq]
        return found[:limit]

    def before(
        self, key: ThreadKey, before_seq: int | None, limit: int, types: frozenset[EventType] | None = None
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        pending = [
            e
            for e in reversed(self._unit.state.appended.get(key, []))
            if (before_seq is None or e.seq < before_seq) and (types is None or e.type in types)
        ]
        found = pending[:limit]
        names: dict[str, str] = {}
        values: dict[str, Any] = {":pk": {"S": events_pk(key)}}
        condition = "PK = :pk"
        if before_seq is not None:
            condition += " AND #t < :before"
            names["#t"] = "time"
            values[":before"] = {"N": str(before_seq)}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if types is not None:
            names["#type"] = "type"
            placeholders = []
            for i, event_type in enumerate(sorted(types)):
                placeholders.append(f":type{i}")
                values[f":type{i}"] = {"S": str(event_type)}
            kwargs["FilterExpression"] = f"#type IN ({', '.join(placeholders)})"
        if names:
            kwargs["ExpressionAttributeNames"] = names
        while len(found) < limit:
            remaining = limit - len(found)
            kwargs["Limit"] = remaining + (FILTER_HEADROOM if types is not None else 0)
            answer = self._forum.query(**kwargs)
            found += [self._current(event_from_item(key, item)) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                break
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return found[:limit]

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        messages = self._unit.state.messages
        if (key, uuid) not in messages:
            item = self._forum.get_item(message_pk(key, uuid), 0)
            messages[(key, uuid)] = None if item is None else event_from_item(key, item)
        return messages[(key, uuid)]

    def replace_message(self, event: StoredEvent) -> None:
        state = self._unit.state
        log = state.appended.get(event.key, [])
        for i, pending in enumerate(log):
            if pending.seq == event.seq:
                log[i] = event
                break
        else:
            state.replaced[(event.key, event.seq)] = event
        uuid = event.message_uuid
        if uuid is not None:
            state.messages[(event.key, uuid)] = event

    def _current(self, event: StoredEvent) -> StoredEvent:
        return self._unit.state.replaced.get((event.key, event.seq), event)


class DynamoDbFollowStore:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def get(self, key: ThreadKey, user_id: int) -> Follow | None:
        follows = self._unit.state.follows
        if (key, user_id) in follows:
            return follows[(key, user_id)]
        item = self._forum.get_item(follows_pk(key), user_id)
        return None if item is None else follow_from_item(key, item)

    def put(self, follow: Follow) -> None:
        self._unit.state.follows[(follow.key, follow.user_id)] = follow

    def delete(self, key: ThreadKey, user_id: int) -> None:
        self._unit.state.follows[(key, user_id)] = None

    def of_thread(self, key: ThreadKey) -> list[Follow]:
        """Every follow of the thread by user id, expired ones too: `Follow.active` is the use case's call."""
        items = self._forum.query_all(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": follows_pk(key)}},
            ConsistentRead=True,
        )
        by_user = {f.user_id: f for f in (follow_from_item(key, item) for item in items)}
        for (k, user_id), follow in self._unit.state.follows.items():
            if k == key:
                by_user[user_id] = follow
        return [f for _, f in sorted(by_user.items()) if f is not None]


class DynamoDbReadMarkerStore:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def get(self, key: ThreadKey, user_id: int) -> ReadMarker | None:
        markers = self._unit.state.markers
        if (key, user_id) in markers:
            return markers[(key, user_id)]
        item = self._forum.get_item(read_markers_pk(key), user_id)
        if item is None:
            return None
        plain = deserialize(item)
        return ReadMarker(key, user_id, plain["seen_message_count"], plain["last_seq"])

    def put(self, marker: ReadMarker) -> None:
        self._unit.state.markers[(marker.key, marker.user_id)] = marker


class DynamoDbForumUnitOfWork(UnitOfWorkBase):
    """Buffers every write and sends them at commit as one TransactWriteItems (at most 100 items)."""

    def __init__(self, forum: DynamoDbForum, notifier: Notifier):
        super().__init__(notifier)
        self._forum = forum
        self.state = _UnitState()
        self.threads = DynamoDbThreadRepository(forum, self)
        self.events = DynamoDbEventStore(forum, self)
        self.follows = DynamoDbFollowStore(forum, self)
        self.read_markers = DynamoDbReadMarkerStore(forum, self)
        self._held: list[threading.RLock] = []

    def _begin(self) -> None:
        self.state = _UnitState()

    def _end(self) -> None:
        while self._held:
            self._held.pop().release()

    def queue_locally(self, key: ThreadKey) -> None:
        lock = _local_lock(self._forum.table, key)
        if lock.acquire(timeout=LOCAL_QUEUE_TIMEOUT):
            self._held.append(lock)

    def _rollback(self) -> None:
        self.state = _UnitState()

    def read_counter(self, key: ThreadKey) -> _Counter:
        item = self._forum.get_item(counter_pk(key), 0)
        last = None if item is None else int(item["last_time"]["N"])
        return _Counter(read=last, last=last or 0)

    def _commit(self) -> None:
        for attempt in range(COMMIT_ATTEMPTS):
            writes = self._writes()
            if not writes:
                break
            if len(writes) > MAX_TRANSACT_ITEMS:
                raise ValueError(f"{len(writes)} writes do not fit in one DynamoDB transaction")
            try:
                call(
                    self._forum.client.transact_write_items,
                    TransactItems=[w for _, w in writes],
                    ClientRequestToken=str(uuid_module.uuid4()),
                )
                break
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                self._on_cancelled(exc, [kind for kind, _ in writes])
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
            self._renumber()
        else:
            raise BackendUnavailable("dynamodb")
        self.state = _UnitState()

    def _on_cancelled(self, exc: ClientError, kinds: list[str]) -> None:
        reasons = exc.response.get("CancellationReasons") or []
        failed = {kinds[i] for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
        if "message" in failed:
            raise MessageUuidTaken()
        if "thread" in failed:
            raise Conflict("the thread changed meanwhile, try again", {"status": ["changed by another request"]})
        if "replace" in failed:
            raise Conflict("the message changed meanwhile, try again", {"uuid": ["changed by another request"]})
        # Left: the counter moved or a transaction conflict; both are solved by renumbering.

    def _renumber(self) -> None:
        """After losing a race: re-read the counters and give this unit's events the next times."""
        state = self.state
        moved: dict[tuple[ThreadKey, int], int] = {}
        for key, log in state.appended.items():
            counter = state.counters[key] = self.read_counter(key)
            for event in log:
                new_seq = max(to_ms(event.time), counter.last + 1)
                counter.last = new_seq
                if new_seq != event.seq:
                    moved[(key, event.seq)] = new_seq
        if not moved:
            return
        # The caller already holds these events and queued publications carrying their cursors.
        for event in {id(e): e for log in state.appended.values() for e in log + state.handed_out}.values():
            new_seq = moved.get((event.key, event.seq))
            if new_seq is not None:
                object.__setattr__(event, "seq", new_seq)
        for publication in self._pending:
            body = publication.payload.get("event")
            if not isinstance(body, dict):
                continue
            for (key, old), new in moved.items():
                if (
                    body.get("cursor") == Cursor(old).encode()
                    and body.get("item_id") == str(key.item_id)
                    and body.get("participant_id") == str(key.participant_id)
                ):
                    body["cursor"] = Cursor(new).encode()
                    break

    def _writes(self) -> list[tuple[str, dict[str, Any]]]:
        state, table = self.state, self._forum.table
        writes: list[tuple[str, dict[str, Any]]] = []

        def put(kind: str, item: dict[str, Any], condition: str | None = None) -> None:
            body: dict[str, Any] = {"TableName": table, "Item": item}
            if condition:
                body["ConditionExpression"] = condition
            writes.append((kind, {"Put": body}))

        for key, log in state.appended.items():
            if not log:
                continue
            counter = state.counters[key]
            update: dict[str, Any] = {
                "TableName": table,
                "Key": item_key(counter_pk(key), 0),
                "UpdateExpression": "SET last_time = :new",
                "ExpressionAttributeValues": {":new": {"N": str(counter.last)}},
            }
            if counter.read is None:
                update["ConditionExpression"] = "attribute_not_exists(PK)"
            else:
                update["ConditionExpression"] = "last_time = :old"
                update["ExpressionAttributeValues"][":old"] = {"N": str(counter.read)}
            writes.append(("counter", {"Update": update}))
            for event in log:
                put("event", event_item(event), "attribute_not_exists(PK)")
                uuid = event.message_uuid if event.type == EventType.MESSAGE else None
                if uuid is not None:
                    put("message", event_item(event, message_pk(key, uuid), 0), "attribute_not_exists(PK)")
        for (key, _), event in state.replaced.items():
            put("replace", event_item(event), "attribute_exists(PK)")
            if event.message_uuid is not None:
                put("replace", event_item(event, message_pk(key, event.message_uuid), 0), "attribute_exists(PK)")
        for thread in state.saved_threads.values():
            writes.append(("thread", self._thread_write(thread)))
        for (key, user_id), follow in state.follows.items():
            if follow is None:
                writes.append(("follow", {"Delete": {"TableName": table, "Key": item_key(follows_pk(key), user_id)}}))
            else:
                put("follow", follow_item(follow))
        for marker in state.markers.values():
            put("marker", marker_item(marker))
        return writes

    def _thread_write(self, thread: Thread) -> dict[str, Any]:
        """A thread read in this unit is updated, not overwritten, so concurrent posts keep their counts.

        The message count moves by this unit's delta (ADD) and the write is conditioned on the
        status read: a concurrent status change makes this unit fail with a Conflict.
        """
        state = self.state
        if thread.key not in state.loaded_threads:
            return {"Put": {"TableName": self._forum.table, "Item": thread_item(thread)}}
        loaded = state.loaded_threads[thread.key]
        attributes = _thread_attributes(thread)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, removes = [], []
        for i, (name, value) in enumerate(attributes.items()):
            names[f"#a{i}"] = name
            if value is None:
                removes.append(f"#a{i}")
            else:
                sets.append(f"#a{i} = :a{i}")
                values[f":a{i}"] = _serializer.serialize(value)
        names["#mc"] = "message_count"
        values[":delta"] = {"N": str(thread.message_count - (loaded.message_count if loaded else 0))}
        expression = f"SET {', '.join(sets)} ADD #mc :delta"
        if removes:
            expression += f" REMOVE {', '.join(removes)}"
        names["#status"] = "status"
        if loaded is None:
            condition = "attribute_not_exists(#status)"
        else:
            condition = "#status = :loaded_status"
            values[":loaded_status"] = {"S": str(loaded.status)}
        return {
            "Update": {
                "TableName": self._forum.table,
                "Key": item_key(thread_pk(thread.key), 0),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }


# -- live subscriptions ---------------------------------------------------------------------------


def subscription_pk(topic: str) -> str:
    """A thread's subscriptions sit under THREADSUB# as in the reference; other topics beside them."""
    prefix = "forum.thread."
    if topic.startswith(prefix):
        participant, _, item = topic[len(prefix) :].partition(".")
        if participant.isdigit() and item.isdigit():
            return subscriptions_pk(ThreadKey(int(item), int(participant)))
    return f"TOPICSUB#{topic}"


def connection_sk(connection_id: str) -> int:
    """The sort key must be a number: a stable 63-bit digest of the connection id.

    One row per (topic, connection), so renewing overwrites and unsubscribing is one DeleteItem
    with no lookup (the reference keys by subscribe time and must query before deleting).
    """
    return int.from_bytes(hashlib.blake2b(connection_id.encode(), digest_size=8).digest(), "big") >> 1


class DynamoDbSubscriptionStore:
    """The SubscriptionStore port. Rows carry `ttl` (epoch seconds) for DynamoDB to delete them, which
    it does up to days late, so every read filters on the exact expiry as well.
    """

    def __init__(self, forum: DynamoDbForum):
        self._forum = forum

    def put(self, subscription: LiveSubscription) -> None:
        expires = to_ms(subscription.expires_at)
        plain: dict[str, Any] = {
            "PK": subscription_pk(subscription.topic),
            "time": connection_sk(subscription.connection_id),
            "topic": subscription.topic,
            "connection_id": subscription.connection_id,
            "expires_at": expires,
            "ttl": -(-expires // 1000),
        }
        if subscription.user_id is not None:
            plain["user_id"] = subscription.user_id
        call(self._forum.client.put_item, TableName=self._forum.table, Item=serialize(plain))

    def delete(self, topic: str, connection_id: str) -> None:
        call(
            self._forum.client.delete_item,
            TableName=self._forum.table,
            Key=item_key(subscription_pk(topic), connection_sk(connection_id)),
        )

    def of_topic(self, topic: str, now: datetime) -> list[LiveSubscription]:
        items = self._forum.query_all(
            # Strongly consistent: a subscription just put by another process must count as watching.
            ConsistentRead=True,
            KeyConditionExpression="PK = :pk",
            FilterExpression="expires_at > :now AND topic = :topic",
            ExpressionAttributeValues={
                ":pk": {"S": subscription_pk(topic)},
                ":now": {"N": str(to_ms(now))},
                ":topic": {"S": topic},
            },
        )
        found = []
        for item in items:
            plain = deserialize(item)
            found.append(
                LiveSubscription(topic, plain["connection_id"], plain.get("user_id"), from_ms(plain["expires_at"]))
            )
        return found
