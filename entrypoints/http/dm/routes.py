"""The /dm blueprint (issue 14): the caller's directory entry, their conversations, one
conversation's messages, sending in a group or to a handle, read markers.

Lists answer a JSON array whose items carry a `cursor`; the page before an item is asked for with
`before=<its cursor>`: GET …/messages answers the newest page in chronological order (page back with
the first item's cursor), GET /dm/groups the most recently active first (continue with the last's).
"""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import current_app, g, jsonify
from marshmallow import EXCLUDE, RAISE, ValidationError
from webargs.flaskparser import FlaskParser

from application.dm import conversations, directory
from application.dm.conversations import Sent
from application.dm.ports import DmDeps
from application.dm.topics import message_public, summary_public
from domain.dm.model import Group, Profile, from_epoch_ms
from domain.shared import Cursor
from entrypoints.http.common import authenticate_request, json_body, write_reply
from entrypoints.http.dm.schemas import GroupMessageBody, HandleMessageBody, PageQuery, ProfileBody


class _Parser(FlaskParser):
    """webargs' parser with Parley's errors: a bad query string is a 400 in the §4.1 envelope."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "json": EXCLUDE}

    def load_querystring(self, req, schema):
        repeated = sorted(name for name in req.args if len(req.args.getlist(name)) > 1)
        if repeated:  # as the forum's query strings: one value per parameter
            raise ValidationError({name: ["give it once"] for name in repeated})
        return super().load_querystring(req, schema)

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages.get("query", error.messages) if isinstance(error.messages, dict) else error.messages
        raise ValidationError(messages)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()


bp = Blueprint("dm", __name__, url_prefix="/dm", description="Direct messages between two users")
bp.before_request(authenticate_request)


def _deps() -> DmDeps:
    return current_app.container.dm.deps()


def _before(query: dict[str, Any]):
    raw = query.get("before")
    return None if raw is None else from_epoch_ms(Cursor.decode(raw, "before").seq)


def render_profile(profile: Profile) -> dict[str, Any]:
    return {"uuid": profile.uuid, "handle": profile.handle, "display_name": profile.display_name}


def render_sent(sent: Sent) -> dict[str, Any]:
    return {**message_public(sent.message), "new_group": sent.created_group}


def render_group(group: Group, user_id: int) -> dict[str, Any]:
    index = group.member_ids.index(user_id)
    return {"message_group_uuid": group.uuid, "unread_count": group.unread.get(group.members[index], 0)}


@bp.get("/me")
def get_me():
    return jsonify(render_profile(directory.my_profile(_deps(), g.actor)))


@bp.put("/me")
def put_me():
    body = json_body(ProfileBody())
    profile = directory.set_profile(_deps(), g.actor, body["handle"], body["display_name"])
    return write_reply("updated", render_profile(profile))


@bp.get("/groups")
@bp.arguments(PageQuery, location="query")
def list_groups(query):
    rows = conversations.list_groups(_deps(), g.actor, _before(query), query["limit"])
    return jsonify([summary_public(row) for row in rows])


@bp.get("/groups/<group_uuid>/messages")
@bp.arguments(PageQuery, location="query")
def list_messages(query, group_uuid: str):
    messages = conversations.list_messages(_deps(), g.actor, group_uuid, _before(query), query["limit"])
    return jsonify([message_public(m) for m in messages])


@bp.post("/groups/<group_uuid>/messages")
def send_in_group(group_uuid: str):
    body = json_body(GroupMessageBody())
    sent = conversations.send_in_group(_deps(), g.actor, group_uuid, body["message"])
    return write_reply("created", render_sent(sent), status=201)


@bp.post("/messages")
def send_to_handle():
    body = json_body(HandleMessageBody())
    sent = conversations.send_to_handle(_deps(), g.actor, body["handle"], body["message"])
    return write_reply("created", render_sent(sent), status=201)


@bp.put("/groups/<group_uuid>/read")
def mark_read(group_uuid: str):
    group = conversations.mark_read(_deps(), g.actor, group_uuid)
    return write_reply("updated", render_group(group, g.actor.user_id))
