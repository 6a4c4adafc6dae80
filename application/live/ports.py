"""The live-questions store (one port for its few item kinds) and its unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.shared import Publication
from domain.live.questions import Answer, Attempt, Option, Question
from domain.live.rooms import Room, RoomEvent
from domain.shared import Conflict


class RoomIdTaken(Conflict):
    code = "room_id_taken"

    def __init__(self, room_id: str):
        super().__init__("a room with this id exists", {"room_id": [f"{room_id!r} is taken"]})


class ConcurrentChange(Exception):
    """The room changed between read and write (DynamoDB's condition on its `seq`): try again."""


@dataclass(frozen=True)
class Pick:
    room_id: str
    question_id: str
    picked_at: datetime
    deadline: datetime | None = None


class LiveRepository(Protocol):
    # rooms
    def add_room(self, room: Room) -> None:
        """Raises RoomIdTaken when the id is in use."""

    def get_room(self, room_id: str) -> Room | None: ...

    def list_rooms(self, after: str | None, limit: int) -> list[Room]:
        """Rooms by id, after the given one."""

    def save_room(self, room: Room, expected_seq: int, events: list[RoomEvent]) -> None:
        """Store the room and append its new events, if its `seq` is still `expected_seq`
        (else ConcurrentChange, raised here or by the unit's commit); `events` carry seq expected_seq+1 … room.seq."""

    def events_after(self, room_id: str, seq: int, limit: int) -> list[RoomEvent]: ...

    # questions
    def add_question(self, question: Question) -> None: ...

    def get_question(self, question_id: str) -> Question | None: ...

    def questions_of(self, owner_id: int, after: tuple[datetime, str] | None, limit: int) -> list[Question]:
        """An owner's questions, oldest first, after (created_at, id)."""

    # picks
    def add_pick(self, pick: Pick) -> None: ...

    def picks(self, room_id: str) -> list[Pick]:
        """A room's picks, oldest first."""

    # attempts
    def get_attempt(self, room_id: str, question_id: str, user_id: int) -> Attempt | None: ...

    def put_attempt(self, attempt: Attempt, room: Room) -> None:
        """Store (or replace) the attempt if the room is still as read (`room.seq`), else
        ConcurrentChange (here or at commit)."""

    def attempts(self, room_id: str, question_id: str) -> list[Attempt]:
        """The attempts at one question in one room, by user id."""


class LiveUnitOfWork(Protocol):
    live: LiveRepository

    def __enter__(self) -> LiveUnitOfWork: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...

    def queue(self, publication: Publication) -> None: ...


class Scheduler(Protocol):
    """Runs a job at a time (in-process; lost on restart, which the lazy close on read covers)."""

    def at(self, when: datetime, job) -> None: ...


class NoScheduler:
    def at(self, when: datetime, job) -> None:
        """Deadlines are then only applied lazily, on the next read or write of the room."""


# -- the stored shapes of options and answers, the same in every store ------------------------------


def options_to_plain(options: tuple[Option, ...]) -> list[dict[str, object]]:
    return [{"text": o.text, "is_correct": o.is_correct, "post_text": o.post_text} for o in options]


def options_from_plain(plain: list[dict[str, object]]) -> tuple[Option, ...]:
    return tuple(Option(str(o["text"]), bool(o["is_correct"]), str(o.get("post_text") or "")) for o in plain)


def answer_to_plain(answer: Answer) -> dict[str, object]:
    return {"text": answer.text} if answer.text is not None else {"choices": sorted(answer.choices)}


def answer_from_plain(plain: dict[str, object]) -> Answer:
    if "text" in plain:
        return Answer(text=str(plain["text"]))
    return Answer(choices=frozenset(int(i) for i in plain["choices"]))  # type: ignore[union-attr]
