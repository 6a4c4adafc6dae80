"""In-memory live-questions store and unit of work (fakes, and the memory profile), and the
in-process deadline scheduler every profile uses.

A unit holds the store's lock from begin to end (units are serialised, as a database's write lock
would) and buffers its writes, which land only on commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from adapters.memory.unit_of_work import StagedUnitOfWork
from application.live.ports import ConcurrentChange, Pick, RoomIdTaken
from application.shared import Clock, Notifier
from domain.live.questions import Attempt, Question
from domain.live.rooms import Room, RoomEvent


@dataclass
class MemoryLiveState:
    rooms: dict[str, Room] = field(default_factory=dict)
    events: dict[str, list[RoomEvent]] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    picks: dict[str, list[Pick]] = field(default_factory=dict)
    attempts: dict[tuple[str, str, int], Attempt] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


class MemoryLiveRepository:
    def __init__(self, state: MemoryLiveState, writes: list[Callable[[], None]]):
        self._s, self._writes = state, writes
        # The unit's own view: what it wrote, seen by its later reads.
        self._rooms: dict[str, Room] = {}

    def add_room(self, room: Room) -> None:
        if room.id in self._s.rooms or room.id in self._rooms:
            raise RoomIdTaken(room.id)
        self._rooms[room.id] = room
        self._writes.append(lambda: self._s.rooms.__setitem__(room.id, room))

    def get_room(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id) or self._s.rooms.get(room_id)

    def list_rooms(self, after: str | None, limit: int) -> list[Room]:
        ids = sorted(i for i in self._s.rooms if after is None or i > after)
        return [self._s.rooms[i] for i in ids[:limit]]

    def save_room(self, room: Room, expected_seq: int, events: list[RoomEvent]) -> None:
        stored = self.get_room(room.id)
        if stored is None or stored.seq != expected_seq:
            raise ConcurrentChange(room.id)
        self._rooms[room.id] = room

        def write() -> None:
            self._s.rooms[room.id] = room
            self._s.events.setdefault(room.id, []).extend(events)

        self._writes.append(write)

    def events_after(self, room_id: str, seq: int, limit: int) -> list[RoomEvent]:
        return [e for e in self._s.events.get(room_id, []) if e.seq > seq][:limit]

    def add_question(self, question: Question) -> None:
        self._writes.append(lambda: self._s.questions.__setitem__(question.id, question))

    def get_question(self, question_id: str) -> Question | None:
        return self._s.questions.get(question_id)

    def questions_of(self, owner_id: int, after: tuple[datetime, str] | None, limit: int) -> list[Question]:
        mine = sorted(
            (q for q in self._s.questions.values() if q.owner_id == owner_id),
            key=lambda q: (q.created_at, q.id),
        )
        if after is not None:
            mine = [q for q in mine if (q.created_at, q.id) > after]
        return mine[:limit]

    def add_pick(self, pick: Pick) -> None:
        self._writes.append(lambda: self._s.picks.setdefault(pick.room_id, []).append(pick))

    def picks(self, room_id: str) -> list[Pick]:
        return sorted(self._s.picks.get(room_id, []), key=lambda p: p.picked_at)

    def get_attempt(self, room_id: str, question_id: str, user_id: int) -> Attempt | None:
        return self._s.attempts.get((room_id, question_id, user_id))

    def put_attempt(self, attempt: Attempt, room: Room) -> None:
        stored = self.get_room(room.id)
        if stored is None or stored.seq != room.seq:
            raise ConcurrentChange(room.id)
        key = (attempt.room_id, attempt.question_id, attempt.user_id)
        self._writes.append(lambda: self._s.attempts.__setitem__(key, attempt))

    def attempts(self, room_id: str, question_id: str) -> list[Attempt]:
        found = [a for (r, q, _), a in self._s.attempts.items() if (r, q) == (room_id, question_id)]
        return sorted(found, key=lambda a: a.user_id)


class MemoryLiveUnitOfWork(StagedUnitOfWork):
    def __init__(self, state: MemoryLiveState, notifier: Notifier):
        super().__init__(state.lock, notifier)
        self._state = state
        self.live = MemoryLiveRepository(state, self._journal)

    def _begin(self) -> None:
        super()._begin()
        # A new view for each unit: the repository keeps what the unit wrote for its later reads.
        self.live = MemoryLiveRepository(self._state, self._journal)


class TimerScheduler:
    """Deadlines in this process: one daemon timer per picked question with a time limit.

    A restart loses them; the lazy close on read and on write (application/live/rooms.py) makes the
    room right anyway, and the next reader pushes the close.
    """

    def __init__(self, clock: Clock):
        self._clock = clock

    def at(self, when: datetime, job: Callable[[], None]) -> None:
        delay = max(0.0, (when - self._clock.now()).total_seconds()) + 0.05
        timer = threading.Timer(delay, _logged(job))
        timer.daemon = True
        timer.start()


def _logged(job: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:
            import logging

            logging.getLogger(__name__).warning("a question's deadline could not be written down", exc_info=True)

    return run
