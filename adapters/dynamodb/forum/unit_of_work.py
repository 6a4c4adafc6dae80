"""The forum's DynamoDB unit of work: reads see the unit's own writes, which are buffered and sent
at commit as one TransactWriteItems (adapters/dynamodb/transaction.py).

Order. An event's `time` is max(its own time in ms, the thread's last time + 1): close to the
wall clock as in AlgoREA, yet strictly increasing per thread whatever the writers' clocks say. The
unit of work reads THREADSEQ when it first appends to a thread and commits the new `last_time` with
a condition on the value it read, in the same TransactWriteItems as the events (each a conditional
put): commits of one thread are therefore serial in cursor order, so a reader resuming from a
cursor never skips an event committed later. A writer that lost the race re-reads the counter,
renumbers its events (and the cursors of its queued publications) and tries again, a bounded number
of times.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from adapters.dynamodb.base import to_ms
from adapters.dynamodb.forum.events import DynamoDbEventStore, event_from_item, event_item
from adapters.dynamodb.forum.follows import (
    DynamoDbFollowStore,
    DynamoDbReadMarkerStore,
    follow_from_item,
    follow_item,
    marker_item,
)
from adapters.dynamodb.forum.table import DynamoDbForum, counter_pk, follows_pk, item_key, message_pk, thread_pk
from adapters.dynamodb.forum.threads import DynamoDbThreadRepository, buffer_thread_write, thread_from_item
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.forum.ports import EventAlreadyApplied, Follow, MessageUuidTaken, ReadMarker
from application.messagebus import MessageBus
from application.shared import Notifier
from application.unit_of_work import UnitOfWorkBase
from domain.forum.events import EventType, StoredEvent
from domain.forum.model import Thread, ThreadKey
from domain.shared import Conflict, Cursor

# How long a writer waits for another unit of this process writing to the same thread before it
# goes ahead anyway and lets the conditional counter sort them out.
LOCAL_QUEUE_TIMEOUT = 5.0

# The writes whose failed condition is an answer to the caller, in the order they are checked. A
# failed counter condition is not among them: the unit renumbers its events and tries again.
CONFLICTS = {
    "message": MessageUuidTaken,
    "received": EventAlreadyApplied,
    "thread": lambda: Conflict("the thread changed meanwhile, try again", {"status": ["changed by another request"]}),
    "replace": lambda: Conflict("the message changed meanwhile, try again", {"uuid": ["changed by another request"]}),
}


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


def _counter_from_item(item: dict | None) -> _Counter:
    last = None if item is None else int(item["last_time"]["N"])
    return _Counter(read=last, last=last or 0)


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
        self.follows: dict[tuple[ThreadKey, int], Follow | None] = {}  # written at commit
        self.loaded_follows: dict[tuple[ThreadKey, int], Follow | None] = {}  # as read (prefetch_post)
        self.markers: dict[tuple[ThreadKey, int], ReadMarker] = {}
        self.received: set[str] = set()


class DynamoDbForumUnitOfWork(UnitOfWorkBase):
    """Buffers every write and sends them at commit as one TransactWriteItems (at most 100 items)."""

    def __init__(self, forum: DynamoDbForum, notifier: Notifier, bus: MessageBus | None = None):
        super().__init__(notifier, bus)
        self._forum = forum
        self.state = _UnitState()
        self.threads = DynamoDbThreadRepository(forum, self)
        self.events = DynamoDbEventStore(forum, self)
        self.follows = DynamoDbFollowStore(forum, self)
        self.read_markers = DynamoDbReadMarkerStore(forum, self)
        self.received_events = DynamoDbReceivedEventStore(forum, self)
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

    def prefetch_post(self, key: ThreadKey, uuid: str, user_id: int | None) -> None:
        """One BatchGetItem for everything a post reads: the thread, the uuid's copy of the message,
        the thread's counter (taken in the local queue first, as `append` would) and the author's
        follow. The reads that follow are answered from the unit's state (issue 20: a post was
        four GetItems before its TransactWriteItems)."""
        state = self.state
        self.queue_locally(key)
        wanted = [(thread_pk(key), 0), (message_pk(key, uuid), 0), (counter_pk(key), 0)]
        if user_id is not None:
            wanted.append((follows_pk(key), user_id))
        found = self._forum.get_items(wanted)
        thread = found.get(wanted[0])
        state.loaded_threads[key] = None if thread is None else thread_from_item(thread)
        message = found.get(wanted[1])
        state.messages[(key, uuid)] = None if message is None else event_from_item(key, message)
        state.counters[key] = _counter_from_item(found.get(wanted[2]))
        if user_id is not None:
            follow = found.get(wanted[3])
            state.loaded_follows[(key, user_id)] = None if follow is None else follow_from_item(key, follow)

    def read_counter(self, key: ThreadKey) -> _Counter:
        return _counter_from_item(self._forum.get_item(counter_pk(key), 0))

    def _commit(self) -> None:
        tx = DynamoDbTransaction(self._forum, CONFLICTS)
        self._buffer_writes(tx)

        def renumber_and_rewrite() -> None:
            self._renumber()
            tx.clear()
            self._buffer_writes(tx)

        tx.commit(on_retry=renumber_and_rewrite)
        self.state = _UnitState()

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

    def _buffer_writes(self, tx: DynamoDbTransaction) -> None:
        state = self.state
        for key, log in state.appended.items():
            if not log:
                continue
            counter = state.counters[key]
            values = {":new": {"N": str(counter.last)}}
            if counter.read is None:
                condition = "attribute_not_exists(PK)"
            else:
                condition = "last_time = :old"
                values[":old"] = {"N": str(counter.read)}
            tx.update("counter", item_key(counter_pk(key), 0), "SET last_time = :new", condition, values=values)
            for event in log:
                tx.put("event", event_item(event), "attribute_not_exists(PK)")
                uuid = event.message_uuid if event.type == EventType.MESSAGE else None
                if uuid is not None:
                    tx.put("message", event_item(event, message_pk(key, uuid), 0), "attribute_not_exists(PK)")
        for (key, _), event in state.replaced.items():
            tx.put("replace", event_item(event), "attribute_exists(PK)")
            if event.message_uuid is not None:
                tx.put("replace", event_item(event, message_pk(key, event.message_uuid), 0), "attribute_exists(PK)")
        for thread in state.saved_threads.values():
            buffer_thread_write(tx, thread, state.loaded_threads)
        for (key, user_id), follow in state.follows.items():
            if follow is None:
                tx.delete("follow", item_key(follows_pk(key), user_id))
            else:
                tx.put("follow", follow_item(follow))
        for marker in state.markers.values():
            tx.put("marker", marker_item(marker))
        for event_id in sorted(state.received):
            # A concurrent claim of the same id fails this condition: EventAlreadyApplied at commit.
            tx.put("received", item_key(received_pk(event_id), 0), "attribute_not_exists(PK)")


def received_pk(event_id: str) -> str:
    return f"RECEIVED#{event_id}"


class DynamoDbReceivedEventStore:
    """An id is claimed with a GetItem now and a conditional put in the unit's TransactWriteItems."""

    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def claim(self, event_id: str) -> bool:
        state = self._unit.state
        if event_id in state.received or self._forum.get_item(received_pk(event_id), 0) is not None:
            return False
        state.received.add(event_id)
        return True
