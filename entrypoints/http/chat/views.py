"""The /chat endpoints: parse (the platform's flask-smorest blueprint), call a use case, render.

Room ids are strings (1..64 of A-Z a-z 0-9 . _ ~ -), checked here before anything else reads them.
"""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject
from flask import g

from application.chat import comments, rooms
from application.chat.deps import ChatDeps
from domain.chat.model import Membership, parse_room_id
from entrypoints.http.blueprint import Blueprint
from entrypoints.http.chat import schemas as s
from entrypoints.http.common import created, deleted, updated, write_reply

bp = Blueprint("chat", __name__, url_prefix="/chat", description="Chat rooms: members and comments")
ROOM = "/rooms/<room_id>"


@inject
def chat_deps(chat: ChatDeps = Provide["chat.deps"]) -> ChatDeps:
    """The chat context's dependencies: the views' only injection."""
    return chat


def _member(membership: Membership) -> dict:
    return {**membership.to_public(), "cursor": str(membership.user_id)}


@bp.put(ROOM)
@bp.arguments(s.CreateRoomBody, example={"display_name": "The lobby"})
@bp.response(201, s.RoomCreated)
@bp.errors(409)
def create_room(body: dict, room_id: str):
    """Create a room if none has this id (409 otherwise); its creator joins it"""
    room = rooms.create_room(chat_deps(), g.actor, parse_room_id(room_id), body.get("display_name"))
    return created(room.to_public())


@bp.get(ROOM)
@bp.response(200, s.RoomOut)
@bp.errors(404)
def get_room(room_id: str):
    """A room"""
    return rooms.get_room(chat_deps(), g.actor, parse_room_id(room_id)).to_public()


@bp.delete(ROOM)
@bp.response(200, s.RoomDeleted)
@bp.errors(404)
def delete_room(room_id: str):
    """Delete a room with its members and comments (its creator only)"""
    rooms.delete_room(chat_deps(), g.actor, parse_room_id(room_id))
    return deleted({"room_id": room_id})


@bp.put(ROOM + "/membership")
@bp.response(200, s.Joined)
@bp.errors(404)
def join_room(room_id: str):
    """Join a room (message `created` the first time, `updated` when already a member)"""
    result = rooms.join_room(chat_deps(), g.actor, parse_room_id(room_id))
    if result.joined:
        return write_reply("created", _member(result.membership))  # 200 either way: one documented status
    return updated(_member(result.membership))


@bp.delete(ROOM + "/membership")
@bp.response(200, s.Left)
@bp.errors(404)
def leave_room(room_id: str):
    """Leave a room (a no-op when not a member)"""
    was_member = rooms.leave_room(chat_deps(), g.actor, parse_room_id(room_id))
    return deleted({"room_id": room_id, "user_id": str(g.actor.user_id), "was_member": was_member})


@bp.get(ROOM + "/members")
@bp.arguments(s.MembersQuery, location="query")
@bp.response(200, s.MembershipOut(many=True))
@bp.errors(404)
def list_members(query: dict, room_id: str):
    """Members of a room by user id (members only)"""
    found = rooms.room_members(chat_deps(), g.actor, parse_room_id(room_id), query.get("after"), query["limit"])
    return [_member(m) for m in found]


@bp.get("/me/rooms")
@bp.arguments(s.MyRoomsQuery, location="query")
@bp.response(200, s.MembershipOut(many=True))
def my_rooms(query: dict):
    """The rooms the user joined, by room id"""
    found = rooms.rooms_of_user(chat_deps(), g.actor, query.get("after"), query["limit"])
    return [{**m.to_public(), "cursor": m.room_id} for m in found]


@bp.post(ROOM + "/comments")
@bp.arguments(s.CommentBody, example={"text": "Hello, room!"})
@bp.response(201, s.CommentCreated)
@bp.errors(404, 409)
def add_comment(body: dict, room_id: str):
    """Comment in a room (members only)"""
    comment = comments.add_comment(chat_deps(), g.actor, parse_room_id(room_id), body["text"])
    return created(comment.to_public())


@bp.get(ROOM + "/comments")
@bp.arguments(s.CommentsQuery, location="query")
@bp.response(200, s.CommentOut(many=True))
@bp.errors(404)
def list_comments(query: dict, room_id: str):
    """A room's comments oldest first: all (paged with `after`), after a position, or `from`..`to`"""
    found = comments.list_comments(
        chat_deps(),
        g.actor,
        parse_room_id(room_id),
        after=query.get("after"),
        first=query.get("first"),
        last=query.get("last"),
        limit=query["limit"],
    )
    return [c.to_public() for c in found]


@bp.get(ROOM + "/comments/latest")
@bp.arguments(s.LatestQuery, location="query")
@bp.response(200, s.CommentOut(many=True))
@bp.errors(404)
def latest_comments(query: dict, room_id: str):
    """A room's newest comments, newest first (10 unless `limit` says otherwise)"""
    found = comments.latest_comments(chat_deps(), g.actor, parse_room_id(room_id), query["limit"], query.get("before"))
    return [c.to_public() for c in found]
