"""Use cases on rooms and their members: create, delete, join, leave, and who is in which room."""

from __future__ import annotations

from dataclasses import dataclass

from application.chat.deps import (
    ChatDeps,
    check_limit,
    existing_room,
    require_member,
    room_and_membership,
    user_id_of,
)
from application.chat.ports import RoomExists
from application.chat.topics import publication
from application.shared import Actor
from domain.chat import events
from domain.chat.model import Membership, Room, clean_display_name, parse_room_id
from domain.shared import Conflict, Forbidden

MAX_MEMBERS_PAGE = 100
MAX_ROOMS_PAGE = 100


def _room_exists() -> Conflict:
    return Conflict("the room already exists", {"room_id": ["a room with this id exists"]})


def create_room(deps: ChatDeps, actor: Actor, room_id: str, display_name: str | None = None) -> Room:
    """Create a room if none has this id (else 409, the existing room untouched); its creator joins it."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    name = clean_display_name(display_name, room_id)
    now = deps.now()
    room = Room(room_id, name, user_id, now)
    with deps.uow() as uow:
        if uow.rooms.get(room_id) is not None:
            raise _room_exists()
        try:
            uow.rooms.add(room)
            uow.members.add(Membership(room_id, user_id, now))
            uow.commit()  # a store may only find out here that a concurrent create won
        except RoomExists:
            raise _room_exists() from None
    return room


def get_room(deps: ChatDeps, actor: Actor, room_id: str) -> Room:
    user_id_of(actor)
    with deps.reader() as uow:
        return existing_room(uow, parse_room_id(room_id))


def delete_room(deps: ChatDeps, actor: Actor, room_id: str) -> None:
    """Only the creator may delete a room; its members and comments go with it."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    with deps.uow() as uow:
        room = existing_room(uow, room_id)
        if not room.is_creator(user_id):
            raise Forbidden("only the room's creator may delete it")
        uow.rooms.delete(room)
        uow.queue(publication(room_id, events.RoomDeleted(room_id, user_id, deps.now())))
        uow.commit()


@dataclass(frozen=True)
class JoinResult:
    membership: Membership
    joined: bool  # False when the user was a member already


def join_room(deps: ChatDeps, actor: Actor, room_id: str) -> JoinResult:
    """Idempotent: joining a room one is in changes nothing and answers the first membership."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    with deps.uow() as uow:
        _, membership = room_and_membership(uow, room_id, user_id)
        if membership is not None:
            return JoinResult(membership, joined=False)
        membership = Membership(room_id, user_id, deps.now())
        uow.members.add(membership)
        uow.queue(publication(room_id, events.MemberJoined(membership)))
        uow.commit()
    return JoinResult(membership, joined=True)


def leave_room(deps: ChatDeps, actor: Actor, room_id: str) -> bool:
    """Leaving a room one never joined is a no-op; answers whether the user was a member."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    with deps.uow() as uow:
        if room_and_membership(uow, room_id, user_id)[1] is None:
            return False
        uow.members.remove(room_id, user_id)
        uow.queue(publication(room_id, events.MemberLeft(room_id, user_id, deps.now())))
        uow.commit()
    return True


def room_members(
    deps: ChatDeps, actor: Actor, room_id: str, after_user_id: int | None = None, limit: int = 50
) -> list[Membership]:
    """Members of a room ordered by user id; only members may see who else is in the room."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    check_limit(limit, MAX_MEMBERS_PAGE)
    with deps.reader() as uow:
        require_member(uow, room_id, user_id)
        return uow.members.of_room(room_id, after_user_id, limit)


def rooms_of_user(deps: ChatDeps, actor: Actor, after_room_id: str | None = None, limit: int = 50) -> list[Membership]:
    """The rooms the caller joined, ordered by room id."""
    user_id = user_id_of(actor)
    if after_room_id is not None:
        after_room_id = parse_room_id(after_room_id, "after")
    check_limit(limit, MAX_ROOMS_PAGE)
    with deps.reader() as uow:
        return uow.members.of_user(user_id, after_room_id, limit)
