"""The /dm endpoints (issue 14): the caller's directory entry, their conversations, one
conversation's messages, sending in a group or to a handle, read markers.

Lists answer a JSON array whose items carry a `cursor`; the page before an item is asked for with
`before=<its cursor>`: GET …/messages answers the newest page in chronological order (page back with
the first item's cursor), GET /dm/groups the most recently active first (continue with the last's).
"""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask import g

from application.dm import conversations, directory
from application.dm.conversations import Sent
from application.dm.ports import DmDeps
from application.dm.topics import message_public, summary_public
from domain.dm.model import Group, Profile, from_epoch_ms
from domain.shared import Cursor
from entrypoints.http.blueprint import Blueprint
from entrypoints.http.common import created, updated
from entrypoints.http.dm import schemas

bp = Blueprint("dm", __name__, url_prefix="/dm", description="Direct messages between two users")
GROUP = "/groups/<group_uuid>"


@inject
def dm_deps(dm: DmDeps = Provide["dm.deps"]) -> DmDeps:
    """The dm context's dependencies: the views' only injection."""
    return dm


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
@bp.response(200, schemas.DmProfile)
@bp.errors(404)
def get_me():
    """The caller's entry in the users directory"""
    return render_profile(directory.my_profile(dm_deps(), g.actor))


@bp.put("/me")
@bp.arguments(schemas.DmProfileBody, example={"handle": "ann", "display_name": "Ann Archer"})
@bp.response(200, schemas.DmProfileReply)
@bp.errors(409)
def put_me(body: dict):
    """Create or change the caller's handle and display name (the uuid is made once)"""
    return updated(render_profile(directory.set_profile(dm_deps(), g.actor, body["handle"], body["display_name"])))


@bp.get("/groups")
@bp.arguments(schemas.DmPageQuery, location="query")
@bp.response(200, schemas.DmGroup(many=True))
def list_groups(query: dict):
    """The caller's conversations, most recent activity first"""
    rows = conversations.list_groups(dm_deps(), g.actor, _before(query), query["limit"])
    return [summary_public(row) for row in rows]


@bp.get(GROUP + "/messages")
@bp.arguments(schemas.DmPageQuery, location="query")
@bp.response(200, schemas.DmMessage(many=True))
@bp.errors(404)
def list_messages(query: dict, group_uuid: str):
    """A conversation's newest messages before a cursor, in chronological order (members only)"""
    messages = conversations.list_messages(dm_deps(), g.actor, group_uuid, _before(query), query["limit"])
    return [message_public(m) for m in messages]


@bp.post(GROUP + "/messages")
@bp.arguments(schemas.DmGroupMessageBody, example={"message": "Hello!"})
@bp.response(201, schemas.DmMessageCreated)
@bp.errors(404)
def send_in_group(body: dict, group_uuid: str):
    """Send a message in a conversation (members only)"""
    return created(render_sent(conversations.send_in_group(dm_deps(), g.actor, group_uuid, body["message"])))


@bp.post("/messages")
@bp.arguments(schemas.DmHandleMessageBody, example={"handle": "bob", "message": "Hello Bob!"})
@bp.response(201, schemas.DmMessageCreated)
@bp.errors(404)
def send_to_handle(body: dict):
    """Send a message to a user by handle; the first one creates the conversation"""
    return created(render_sent(conversations.send_to_handle(dm_deps(), g.actor, body["handle"], body["message"])))


@bp.put(GROUP + "/read")
@bp.response(200, schemas.DmReadReply)
@bp.errors(404)
def mark_read(group_uuid: str):
    """Mark a conversation read"""
    group = conversations.mark_read(dm_deps(), g.actor, group_uuid)
    return updated(render_group(group, g.actor.user_id))
