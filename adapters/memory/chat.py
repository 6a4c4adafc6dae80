"""In-memory chat store and unit of work (tests, the memory profile).

One lock serialises units of work, like a database would, and every change records how to undo
itself, so a rollback restores exactly what was there.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.memory.unit_of_work import UndoLogUnitOfWork
from application.chat.ports import PositionTaken, RoomExists
from application.shared import Notifier
from domain.chat.model import Comment, Membership, Position, Room

Undo = Callable[[], None]


@dataclass
class MemoryChatState:
    rooms: dict[str, Room] = field(default_factory=dict)
    members: dict[tuple[str, int], Membership] = field(default_factory=dict)
    # Per room, comments sorted by position (positions are unique within a room).
    comments: dict[str, list[Comment]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


def _put(mapping: dict, key, value, undo: list[Undo]) -> None:
    """Set (or, with None, remove) mapping[key], recording how to restore the old value."""
    if key in mapping:
        old = mapping[key]
        undo.append(lambda: mapping.__setitem__(key, old))
    else:
        undo.append(lambda: mapping.pop(key, None))
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


class MemoryRoomRepository:
    def __init__(self, state: MemoryChatState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def get(self, room_id: str) -> Room | None:
        return self._state.rooms.get(room_id)

    def add(self, room: Room) -> None:
        if room.room_id in self._state.rooms:
            raise RoomExists(room.room_id)
        _put(self._state.rooms, room.room_id, room, self._undo)

    def delete(self, room: Room) -> None:
        _put(self._state.rooms, room.room_id, None, self._undo)
        _put(self._state.comments, room.room_id, None, self._undo)
        for key in [k for k in self._state.members if k[0] == room.room_id]:
            _put(self._state.members, key, None, self._undo)


class MemoryMembershipStore:
    def __init__(self, state: MemoryChatState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def get(self, room_id: str, user_id: int) -> Membership | None:
        return self._state.members.get((room_id, user_id))

    def with_room(self, room_id: str, user_id: int) -> tuple[Room | None, Membership | None]:
        return self._state.rooms.get(room_id), self.get(room_id, user_id)

    def add(self, membership: Membership) -> None:
        _put(self._state.members, (membership.room_id, membership.user_id), membership, self._undo)

    def remove(self, room_id: str, user_id: int) -> None:
        _put(self._state.members, (room_id, user_id), None, self._undo)

    def of_room(self, room_id: str, after_user_id: int | None, limit: int) -> list[Membership]:
        members = self._state.members.values()
        found = [m for m in members if m.room_id == room_id and (after_user_id is None or m.user_id > after_user_id)]
        return sorted(found, key=lambda m: m.user_id)[:limit]

    def of_user(self, user_id: int, after_room_id: str | None, limit: int) -> list[Membership]:
        members = self._state.members.values()
        found = [m for m in members if m.user_id == user_id and (after_room_id is None or m.room_id > after_room_id)]
        return sorted(found, key=lambda m: m.room_id)[:limit]


class MemoryCommentStore:
    def __init__(self, state: MemoryChatState, undo: list[Undo]):
        self._state, self._undo = state, undo

    def add(self, comment: Comment) -> None:
        log = self._state.comments.get(comment.room_id)
        if log is None:
            log = []
            _put(self._state.comments, comment.room_id, log, self._undo)
        positions = [c.position for c in log]
        at = bisect.bisect_left(positions, comment.position)
        if at < len(log) and log[at].position == comment.position:
            raise PositionTaken(comment.position.encode())
        log.insert(at, comment)
        self._undo.append(lambda: log.remove(comment))

    def ascending(self, room_id: str, after: Position | None, upto: Position | None, limit: int) -> list[Comment]:
        found = [
            c
            for c in self._state.comments.get(room_id, [])
            if (after is None or c.position > after) and (upto is None or c.position <= upto)
        ]
        return found[:limit]

    def descending(self, room_id: str, before: Position | None, limit: int) -> list[Comment]:
        found = [c for c in self._state.comments.get(room_id, []) if before is None or c.position < before]
        return list(reversed(found))[:limit]


class MemoryChatUnitOfWork(UndoLogUnitOfWork):
    def __init__(self, state: MemoryChatState, notifier: Notifier):
        super().__init__(state.lock, notifier)
        self._state = state
        self.rooms = MemoryRoomRepository(state, self._journal)
        self.members = MemoryMembershipStore(state, self._journal)
        self.comments = MemoryCommentStore(state, self._journal)
