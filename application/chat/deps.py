"""What every chat use case needs, gathered so the container builds it once; shared checks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from application.chat.ports import ChatUnitOfWork
from application.shared import Actor, Clock
from domain.chat.model import Membership, Position, Room
from domain.shared import Forbidden, InvalidRequest, NotFound


class PositionHints:
    """The newest position this process has seen taken in each room.

    A new comment starts its search for a free position just after it, instead of at the first
    tiebreak of its millisecond: in a busy millisecond that saves trying every taken tiebreak one
    by one. Only a hint: the store's refusal of a taken position is what keeps them unique.
    """

    MAX_ROOMS = 10_000

    def __init__(self) -> None:
        self._newest: dict[str, Position] = {}
        self._lock = threading.Lock()

    def start(self, room_id: str, candidate: Position) -> Position:
        with self._lock:
            newest = self._newest.get(room_id)
        if newest is None or candidate > newest:
            return candidate
        return newest.following() or candidate  # (None only after the last millisecond of year 9999)

    def taken(self, room_id: str, position: Position) -> None:
        with self._lock:
            if len(self._newest) >= self.MAX_ROOMS and room_id not in self._newest:
                self._newest.clear()
            if room_id not in self._newest or position > self._newest[room_id]:
                self._newest[room_id] = position


@dataclass(frozen=True)
class ChatDeps:
    uow: Callable[[], ChatUnitOfWork]
    clock: Clock
    # For use cases that only read: stores may then skip write locks (None: the same as `uow`).
    read_uow: Callable[[], ChatUnitOfWork] | None = None
    hints: PositionHints = field(default_factory=PositionHints)

    def reader(self) -> ChatUnitOfWork:
        return (self.read_uow or self.uow)()

    def now(self) -> datetime:
        return self.clock.now()


def user_id_of(actor: Actor) -> int:
    """Chat is for users; a service credential has no user to act as."""
    if actor.user_id is None:
        raise Forbidden("a user token is required")
    return actor.user_id


def existing_room(uow: ChatUnitOfWork, room_id: str) -> Room:
    room = uow.rooms.get(room_id)
    if room is None:
        raise NotFound("no such room", {"room_id": ["no room with this id"]})
    return room


def room_and_membership(uow: ChatUnitOfWork, room_id: str, user_id: int) -> tuple[Room, Membership | None]:
    """The room (else 404) and the user's membership of it, if any."""
    room, membership = uow.members.with_room(room_id, user_id)
    if room is None:
        raise NotFound("no such room", {"room_id": ["no room with this id"]})
    return room, membership


def require_member(uow: ChatUnitOfWork, room_id: str, user_id: int) -> Membership:
    """The room exists (else 404) and the user is one of its members (else 403)."""
    _, membership = room_and_membership(uow, room_id, user_id)
    if membership is None:
        raise Forbidden("only members of the room may do this")
    return membership


def check_limit(limit: int, maximum: int, field_name: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidRequest("invalid limit", {field_name: [f"must be an integer from 1 to {maximum}"]})
    return limit
