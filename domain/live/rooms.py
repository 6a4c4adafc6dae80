"""A room and its state machine: only the owner acts, nothing happens in a closed room, and one
question is current at a time.

    no_question ──pick──▶ question_opened ──close question (or its deadline)──▶ question_closed
         │                      │                                                 │   ▲
         │                      └────────────────────close room──────────┐        │   │ pick
         └───────────────close room──────────▶ room_closed ◀──close room──┘        └───┘

Picking while a question is open is refused (close it first: closing releases its feedback), and a
question is asked at most once in a room (its attempts are kept per question and room). A question
with a time limit is closed from its deadline on, whether or not anything wrote that down yet:
`state_at(now)` is what every guard reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.shared import Conflict, Forbidden, InvalidRequest, InvalidValue

ROOM_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_ROOM_NAME_CHARS = 200
MIN_TIME_LIMIT_SECONDS = 5
MAX_TIME_LIMIT_SECONDS = 24 * 3600


class RoomState(StrEnum):
    NO_QUESTION = "no_question"
    QUESTION_OPENED = "question_opened"
    QUESTION_CLOSED = "question_closed"
    ROOM_CLOSED = "room_closed"


class RoomEventType(StrEnum):
    """What everyone in the room hears, in order (each event has a cursor)."""

    QUESTION_PICKED = "question_picked"
    QUESTION_CLOSED = "question_closed"
    ROOM_CLOSED = "room_closed"


@dataclass(frozen=True)
class RoomEvent:
    type: RoomEventType
    question_id: str | None
    at: datetime
    seq: int = 0  # set by the room: its place in the room's history


def parse_room_id(raw: object) -> str:
    """Room ids are chosen by their creator; they name a websocket topic and a DynamoDB key, so no
    dot and no `#`."""
    if not isinstance(raw, str) or not ROOM_ID_PATTERN.fullmatch(raw):
        raise InvalidRequest("invalid room id", {"room_id": ["1..64 characters among A-Z a-z 0-9 _ -"]})
    return raw


def parse_time_limit(raw: object) -> timedelta | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidValue("invalid time limit", {"time_limit_seconds": ["must be a whole number of seconds"]})
    if not MIN_TIME_LIMIT_SECONDS <= raw <= MAX_TIME_LIMIT_SECONDS:
        raise InvalidValue(
            "invalid time limit",
            {"time_limit_seconds": [f"between {MIN_TIME_LIMIT_SECONDS} and {MAX_TIME_LIMIT_SECONDS}"]},
        )
    return timedelta(seconds=raw)


@dataclass(frozen=True)
class Room:
    id: str
    name: str
    owner_id: int
    created_at: datetime
    state: RoomState = RoomState.NO_QUESTION
    question_id: str | None = None  # the current (latest picked) question
    deadline: datetime | None = None  # when the current question closes by itself
    seq: int = 0  # the number of room events so far: the last event's cursor

    # -- reading --------------------------------------------------------------------------------

    def state_at(self, now: datetime) -> RoomState:
        """The state as of `now`: an open question past its deadline is closed."""
        if self.state is RoomState.QUESTION_OPENED and self.deadline is not None and now >= self.deadline:
            return RoomState.QUESTION_CLOSED
        return self.state

    def is_owner(self, user_id: int | None) -> bool:
        return user_id is not None and user_id == self.owner_id

    def overdue(self, now: datetime) -> bool:
        """Open in storage but past its deadline: the close is due to be written down."""
        return self.state is RoomState.QUESTION_OPENED and self.state_at(now) is RoomState.QUESTION_CLOSED

    # -- owner actions (each returns the room after it and the event everyone hears) -------------

    def pick(
        self, user_id: int | None, question_id: str, now: datetime, asked_before: bool,
        time_limit: timedelta | None = None,
    ) -> tuple[Room, RoomEvent]:
        self.require_owner(user_id)
        state = self._require_open(now)
        if state is RoomState.QUESTION_OPENED:
            raise Conflict("a question is open: close it first", {"state": [str(state)]})
        if asked_before:
            raise Conflict("this question was already asked in this room", {"question_id": [question_id]})
        deadline = now + time_limit if time_limit is not None else None
        room = replace(self, state=RoomState.QUESTION_OPENED, question_id=question_id, deadline=deadline)
        return room._record(RoomEventType.QUESTION_PICKED, now)

    def close_question(self, user_id: int | None, now: datetime) -> tuple[Room, RoomEvent]:
        self.require_owner(user_id)
        state = self._require_open(now)
        if state is not RoomState.QUESTION_OPENED:
            raise Conflict("no question is open", {"state": [str(state)]})
        return replace(self, state=RoomState.QUESTION_CLOSED, deadline=None)._record(
            RoomEventType.QUESTION_CLOSED, now
        )

    def close_when_due(self, now: datetime) -> tuple[Room, RoomEvent] | None:
        """The deadline's close, written down by whoever comes first (a timer, a read, a write)."""
        if not self.overdue(now):
            return None
        assert self.deadline is not None
        return replace(self, state=RoomState.QUESTION_CLOSED)._record(RoomEventType.QUESTION_CLOSED, self.deadline)

    def close_room(self, user_id: int | None, now: datetime) -> tuple[Room, list[RoomEvent]]:
        """Closing the room closes its open question first, which releases that question's feedback."""
        self.require_owner(user_id)
        self._require_open(now)
        room, events = self, []
        if self.state is RoomState.QUESTION_OPENED:
            # An open question past its deadline closed at the deadline; otherwise it closes now.
            closed_at = min(now, self.deadline) if self.deadline is not None else now
            room, event = replace(room, state=RoomState.QUESTION_CLOSED)._record(
                RoomEventType.QUESTION_CLOSED, closed_at
            )
            events.append(event)
        room, event = replace(room, state=RoomState.ROOM_CLOSED, deadline=None)._record(RoomEventType.ROOM_CLOSED, now)
        return room, [*events, event]

    # -- participants ---------------------------------------------------------------------------

    def check_attempt(self, user_id: int | None, question_id: str | None, now: datetime) -> str:
        """A participant may answer the current question while it is open; returns its id."""
        if user_id is None:
            raise Forbidden("only users answer questions")
        if self.is_owner(user_id):
            raise Forbidden("the room's owner does not answer its questions")
        state = self.state_at(now)
        if state is not RoomState.QUESTION_OPENED:
            raise Conflict("no question is open for answers", {"state": [str(state)]})
        if question_id is not None and question_id != self.question_id:
            raise Conflict("that question is not the current one", {"question_id": [question_id]})
        assert self.question_id is not None
        return self.question_id

    # -- guards ---------------------------------------------------------------------------------

    def require_owner(self, user_id: int | None) -> None:
        if not self.is_owner(user_id):
            raise Forbidden("only the room's owner may do this")

    def _require_open(self, now: datetime) -> RoomState:
        state = self.state_at(now)
        if state is RoomState.ROOM_CLOSED:
            raise Conflict("the room is closed", {"state": [str(state)]})
        return state

    def _record(self, kind: RoomEventType, at: datetime) -> tuple[Room, RoomEvent]:
        room = replace(self, seq=self.seq + 1)
        return room, RoomEvent(kind, room.question_id, at, room.seq)


def new_room(room_id: object, name: object, owner_id: int | None, now: datetime) -> Room:
    room_id = parse_room_id(room_id)
    if owner_id is None:
        raise Forbidden("only users own rooms")
    if name is None:
        name = room_id
    if (
        not isinstance(name, str) or not name.strip() or len(name) > MAX_ROOM_NAME_CHARS
        or re.search("[\x00\ud800-\udfff]", name)  # not storable in SQL, as for question texts
    ):
        raise InvalidValue("invalid room name", {"name": [f"1..{MAX_ROOM_NAME_CHARS} characters, not blank, no NUL"]})
    return Room(room_id, name, owner_id, now)
