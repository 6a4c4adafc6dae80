"""What every chat use case needs, gathered so the container builds it once; shared checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from application.chat.ports import ChatUnitOfWork
from application.shared import Actor, Clock
from domain.chat.model import Membership, Room
from domain.shared import Forbidden, InvalidRequest, NotFound


@dataclass(frozen=True)
class ChatDeps:
    uow: Callable[[], ChatUnitOfWork]
    clock: Clock
    # For use cases that only read: stores may then skip write locks (None: the same as `uow`).
    read_uow: Callable[[], ChatUnitOfWork] | None = None

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


def require_member(uow: ChatUnitOfWork, room_id: str, user_id: int) -> Membership:
    """The room exists (else 404) and the user is one of its members (else 403)."""
    existing_room(uow, room_id)
    membership = uow.members.get(room_id, user_id)
    if membership is None:
        raise Forbidden("only members of the room may do this")
    return membership


def check_limit(limit: int, maximum: int, field_name: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidRequest("invalid limit", {field_name: [f"must be an integer from 1 to {maximum}"]})
    return limit
