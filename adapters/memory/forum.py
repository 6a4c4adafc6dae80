"""In-memory forum store and unit of work.

One lock serialises units of work (like a database would), and every change records how to
undo itself, so a rollback restores exactly what was there.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.memory.unit_of_work import UndoLogUnitOfWork
from application.forum.ports import (
    Follow,
    MessageUuidTaken,
    ReadMarker,
    ThreadListQuery,
)
from application.messagebus import MessageBus
from application.shared import Notifier
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import Thread, ThreadKey


@dataclass
class MemoryForumState:
    threads: dict[ThreadKey, Thread] = field(default_factory=dict)
    events: dict[ThreadKey, list[StoredEvent]] = field(default_factory=lambda: defaultdict(list))
    message_index: dict[tuple[ThreadKey, str], int] = field(default_factory=dict)
    follows: dict[tuple[ThreadKey, int], Follow] = field(default_factory=dict)
    read_markers: dict[tuple[ThreadKey, int], ReadMarker] = field(default_factory=dict)
    received_events: dict[str, bool] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


Undo = Callable[[], None]


def _setter(mapping: dict, key, undo: list[Undo]) -> Callable[[object], None]:
    """Return a function that sets mapping[key] and records how to restore the old value."""

    def set_value(value: object) -> None:
        if key in mapping:
            old = mapping[key]
            undo.append(lambda: mapping.__setitem__(key, old))
        else:
            undo.append(lambda: mapping.pop(key, None))
        if value is None:
            mapping.pop(key, None)
        else:
            mapping[key] = value

    return set_value


class MemoryThreadRepository:
    def __init__(self, state: MemoryForumState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def get(self, key: ThreadKey) -> Thread | None:
        return self._state.threads.get(key)

    def save(self, thread: Thread) -> None:
        _setter(self._state.threads, thread.key, self._undo)(thread)

    def list(self, query: ThreadListQuery) -> list[Thread]:
        rows = [t for t in self._state.threads.values() if _matches(t, query)]
        rows.sort(key=_sort_key, reverse=True)
        if query.after is not None:
            after_time, after_key = query.after
            rows = [t for t in rows if _sort_key(t) < (after_time, after_key)]
        return rows[: query.limit]


def _sort_key(thread: Thread):
    return (thread.latest_update_at, thread.key)


def _matches(thread: Thread, q: ThreadListQuery) -> bool:
    if q.participant_ids is not None and thread.key.participant_id not in q.participant_ids:
        return False
    if q.helper_group_id is not None and thread.helper_group_id != q.helper_group_id:
        return False
    if q.item_id is not None and thread.key.item_id != q.item_id:
        return False
    if q.status is not None and thread.status != q.status:
        return False
    if q.readable is not None and not q.readable.includes(thread):
        return False
    return q.latest_update_gt is None or thread.latest_update_at > q.latest_update_gt


class MemoryEventStore:
    def __init__(self, state: MemoryForumState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def append(self, event: ThreadEvent) -> StoredEvent:
        log = self._state.events[event.key]
        uuid = event.data.get("uuid") if event.type == EventType.MESSAGE else None
        if uuid is not None and (event.key, uuid) in self._state.message_index:
            raise MessageUuidTaken(uuid)
        stored = event.stored(len(log) + 1)
        log.append(stored)
        self._undo.append(log.pop)
        if uuid is not None:
            _setter(self._state.message_index, (event.key, uuid), self._undo)(stored.seq)
        return stored

    def after(self, key: ThreadKey, after_seq: int, limit: int) -> list[StoredEvent]:
        return self._state.events.get(key, [])[after_seq : after_seq + limit]

    def before(self, key, before_seq, limit, types=None) -> list[StoredEvent]:
        log = self._state.events.get(key, [])
        end = len(log) if before_seq is None else max(min(before_seq - 1, len(log)), 0)
        found: list[StoredEvent] = []
        for event in reversed(log[:end]):
            if types is None or event.type in types:
                found.append(event)
                if len(found) == limit:
                    break
        return found

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        seq = self._state.message_index.get((key, uuid))
        return None if seq is None else self._state.events[key][seq - 1]

    def replace_message(self, event: StoredEvent) -> None:
        log = self._state.events[event.key]
        old = log[event.seq - 1]
        log[event.seq - 1] = event
        self._undo.append(lambda: log.__setitem__(event.seq - 1, old))


class MemoryFollowStore:
    def __init__(self, state: MemoryForumState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def get(self, key: ThreadKey, user_id: int) -> Follow | None:
        return self._state.follows.get((key, user_id))

    def put(self, follow: Follow) -> None:
        _setter(self._state.follows, (follow.key, follow.user_id), self._undo)(follow)

    def delete(self, key: ThreadKey, user_id: int) -> None:
        _setter(self._state.follows, (key, user_id), self._undo)(None)

    def of_thread(self, key: ThreadKey) -> list[Follow]:
        return [f for (k, _), f in sorted(self._state.follows.items(), key=lambda kv: kv[0][1]) if k == key]

    def others_follow(self, key: ThreadKey, user_id: int | None) -> bool | None:
        return any(f is not None and k == key and uid != user_id for (k, uid), f in self._state.follows.items())


class MemoryReadMarkerStore:
    def __init__(self, state: MemoryForumState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def get(self, key: ThreadKey, user_id: int) -> ReadMarker | None:
        return self._state.read_markers.get((key, user_id))

    def put(self, marker: ReadMarker) -> None:
        _setter(self._state.read_markers, (marker.key, marker.user_id), self._undo)(marker)


class MemoryReceivedEventStore:
    def __init__(self, state: MemoryForumState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def claim(self, event_id: str) -> bool:
        if event_id in self._state.received_events:
            return False
        _setter(self._state.received_events, event_id, self._undo)(True)
        return True


class MemoryForumUnitOfWork(UndoLogUnitOfWork):
    def __init__(self, state: MemoryForumState, notifier: Notifier, bus: MessageBus | None = None):
        super().__init__(state.lock, notifier, bus)
        self._state = state
        self.threads = MemoryThreadRepository(state, self._journal)
        self.events = MemoryEventStore(state, self._journal)
        self.follows = MemoryFollowStore(state, self._journal)
        self.read_markers = MemoryReadMarkerStore(state, self._journal)
        self.received_events = MemoryReceivedEventStore(state, self._journal)

    def prefetch_post(self, key: ThreadKey, uuid: str, user_id: int | None) -> None:
        """Nothing to gain: every read is a dictionary lookup."""
