"""The /chat endpoints: parse (flask-smorest + marshmallow), call a use case, render."""

from __future__ import annotations

import json

from dependency_injector.wiring import Provide, inject
from flask import g, request
from flask_smorest import Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from application.chat import comments, rooms
from application.chat.deps import ChatDeps
from domain.chat.model import Membership, parse_room_id
from domain.shared import InvalidRequest
from entrypoints.http.chat import schemas as s
from entrypoints.http.common import authenticate_request
from entrypoints.http.errors import HTTP_CODES, UnsupportedMediaType, _flatten, error_response


class BodyParser(FlaskParser):
    """webargs' parser, except that a body that is not JSON is a 415 (as on the forum), not taken
    for no body, and JSON nested deeply enough to exhaust the decoder is malformed input (a 400),
    not a RecursionError (a 500)."""

    def _raw_load_json(self, req):
        if not is_json_request(req) and req.get_data(cache=True):
            raise UnsupportedMediaType("request body must be JSON", {"Content-Type": ["use application/json"]})
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "<body>", 0) from None


class ChatBlueprint(Blueprint):
    ARGUMENTS_PARSER = BodyParser()


blp = ChatBlueprint("chat", __name__, url_prefix="/chat", description="Chat rooms: members and comments")
blp.before_request(authenticate_request)


@blp.before_request
def _refuse_repeated_query_parameters() -> None:
    """As the forum does: `?limit=5&limit=500` is ambiguous, not "the first one"."""
    for name in request.args:
        if len(request.args.getlist(name)) > 1:
            raise InvalidRequest("repeated query parameter", {name: ["give it once"]})

ROOM = "/rooms/<room_id>"
DEPS = Provide["chat.deps"]
INVALID = 400  # malformed bodies and query strings; invalid values found by the domain are 422


@blp.errorhandler(HTTPException)
def _webargs_error(error: HTTPException):
    """webargs aborts with the field messages by location; clients get the usual envelope."""
    messages = getattr(error, "data", {}).get("messages") if isinstance(getattr(error, "data", None), dict) else None
    if messages is None:
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return error_response(error.code or 500, error.description or error.name, _code(error), headers=headers)
    details: dict = {}
    for by_location in messages.values():
        details.update(by_location if isinstance(by_location, dict) else {"body": by_location})
    return error_response(error.code or INVALID, "invalid input", "invalid_request", _flatten(details))


def _code(error: HTTPException) -> str:
    return HTTP_CODES.get(error.code or 0) or (error.name or "error").lower().replace(" ", "_")


def _room_id(raw: str) -> str:
    return parse_room_id(raw)


def _member(membership: Membership) -> dict:
    return {**membership.to_public(), "cursor": str(membership.user_id)}


def _reply(message: str, data: dict) -> dict:
    return {"success": True, "message": message, "data": data}


@blp.route(ROOM, methods=["PUT"])
@blp.arguments(s.CreateRoomBody, error_status_code=INVALID)
@blp.response(201, s.RoomCreated)
@inject
def create_room(body: dict, room_id: str, chat: ChatDeps = DEPS):
    room = rooms.create_room(chat, g.actor, _room_id(room_id), body.get("display_name"))
    return _reply("created", room.to_public())


@blp.route(ROOM, methods=["GET"])
@blp.response(200, s.RoomOut)
@inject
def get_room(room_id: str, chat: ChatDeps = DEPS):
    return rooms.get_room(chat, g.actor, _room_id(room_id)).to_public()


@blp.route(ROOM, methods=["DELETE"])
@blp.response(200, s.RoomDeleted)
@inject
def delete_room(room_id: str, chat: ChatDeps = DEPS):
    rooms.delete_room(chat, g.actor, _room_id(room_id))
    return _reply("deleted", {"room_id": room_id})


@blp.route(ROOM + "/membership", methods=["PUT"])
@blp.response(200, s.Joined)
@inject
def join_room(room_id: str, chat: ChatDeps = DEPS):
    result = rooms.join_room(chat, g.actor, _room_id(room_id))
    if result.joined:
        return _reply("created", _member(result.membership))
    return _reply("updated", _member(result.membership))


@blp.route(ROOM + "/membership", methods=["DELETE"])
@blp.response(200, s.Left)
@inject
def leave_room(room_id: str, chat: ChatDeps = DEPS):
    was_member = rooms.leave_room(chat, g.actor, _room_id(room_id))
    return _reply("deleted", {"room_id": room_id, "user_id": str(g.actor.user_id), "was_member": was_member})


@blp.route(ROOM + "/members", methods=["GET"])
@blp.arguments(s.MembersQuery, location="query", unknown=RAISE, error_status_code=INVALID)
@blp.response(200, s.MembershipOut(many=True))
@inject
def list_members(query: dict, room_id: str, chat: ChatDeps = DEPS):
    found = rooms.room_members(chat, g.actor, _room_id(room_id), query.get("after"), query["limit"])
    return [_member(m) for m in found]


@blp.route("/me/rooms", methods=["GET"])
@blp.arguments(s.MyRoomsQuery, location="query", unknown=RAISE, error_status_code=INVALID)
@blp.response(200, s.MembershipOut(many=True))
@inject
def my_rooms(query: dict, chat: ChatDeps = DEPS):
    found = rooms.rooms_of_user(chat, g.actor, query.get("after"), query["limit"])
    return [{**m.to_public(), "cursor": m.room_id} for m in found]


@blp.route(ROOM + "/comments", methods=["POST"])
@blp.arguments(s.CommentBody, error_status_code=INVALID)
@blp.response(201, s.CommentCreated)
@inject
def add_comment(body: dict, room_id: str, chat: ChatDeps = DEPS):
    comment = comments.add_comment(chat, g.actor, _room_id(room_id), body["text"])
    return _reply("created", comment.to_public())


@blp.route(ROOM + "/comments", methods=["GET"])
@blp.arguments(s.CommentsQuery, location="query", unknown=RAISE, error_status_code=INVALID)
@blp.response(200, s.CommentOut(many=True))
@inject
def list_comments(query: dict, room_id: str, chat: ChatDeps = DEPS):
    found = comments.list_comments(
        chat,
        g.actor,
        _room_id(room_id),
        after=query.get("after"),
        first=query.get("first"),
        last=query.get("last"),
        limit=query["limit"],
    )
    return [c.to_public() for c in found]


@blp.route(ROOM + "/comments/latest", methods=["GET"])
@blp.arguments(s.LatestQuery, location="query", unknown=RAISE, error_status_code=INVALID)
@blp.response(200, s.CommentOut(many=True))
@inject
def latest_comments(query: dict, room_id: str, chat: ChatDeps = DEPS):
    found = comments.latest_comments(chat, g.actor, _room_id(room_id), query["limit"], query.get("before"))
    return [c.to_public() for c in found]
