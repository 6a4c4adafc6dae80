"""The /forum blueprint: AlgoREA-compatible thread endpoints (DESIGN.md §4.1)."""

from __future__ import annotations

from datetime import datetime

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, g, jsonify
from marshmallow import ValidationError

from application.forum import follows, history, messages, notifications, threads
from application.forum.deps import ForumDeps
from application.forum.threads import ThreadFilters, ThreadSelection, ThreadView
from domain.forum import events as ev
from domain.forum.model import ThreadKey, ThreadStatus, ThreadUpdate
from domain.shared import (
    Cursor,
    DomainError,
    InvalidCursor,
    InvalidRequest,
    KeysetCursor,
    parse_client_time,
    parse_id,
    rfc3339,
)
from entrypoints.http import schemas
from entrypoints.http.common import authenticate_request, json_body, query_args, write_reply

bp = Blueprint("forum", __name__, url_prefix="/forum")
bp.before_request(authenticate_request)
THREAD = "/items/<item_id>/participant/<participant_id>/thread"


def _key(item_id: str, participant_id: str) -> ThreadKey:
    return ThreadKey(parse_id(item_id, "item_id"), parse_id(participant_id, "participant_id"))


def _message_uuid(raw: str) -> str:
    """A message uuid from the path. Posting accepts no other shape, so no other can name a message;
    refused here, it never reaches a store (DynamoDB refuses a key over 1 KiB with an error)."""
    if not ev.UUID_PATTERN.fullmatch(raw):
        raise InvalidRequest(
            "invalid uuid", {"uuid": [f"must be 1..{ev.MAX_UUID_CHARS} characters among A-Z a-z 0-9 . _ ~ -"]}
        )
    return raw


def render_thread(view: ThreadView) -> dict:
    t = view.thread
    if not view.visible:
        return {"item_id": str(t.key.item_id), "participant_id": str(t.key.participant_id), "status": str(t.status)}
    body = {
        "item_id": str(t.key.item_id),
        "participant_id": str(t.key.participant_id),
        "status": str(t.status),
        "helper_group_id": None if t.helper_group_id is None else str(t.helper_group_id),
        "message_count": t.message_count,
        "latest_update_at": rfc3339(t.latest_update_at) if t.latest_update_at else None,
        "can_write": view.can_write,
        "token": view.token,
    }
    if view.unread_count is not None:
        body["unread_count"] = view.unread_count
    return body


@bp.get(THREAD)
@inject
def get_thread(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    view = threads.get_thread(forum, g.actor, _key(item_id, participant_id))
    return jsonify(render_thread(view))


@bp.put(THREAD)
@inject
def update_thread(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    key = _key(item_id, participant_id)
    try:
        body = json_body(schemas.UpdateThreadBody())
    except (DomainError, ValidationError):
        # AlgoREA's order (DESIGN.md §2.1): a user who may not read the thread learns nothing more
        # than 403, not which of their fields were wrong (that would tell its status).
        threads.check_may_update(forum, g.actor, key)
        raise
    update = ThreadUpdate(
        status=ThreadStatus(body["status"]) if "status" in body else None,
        helper_group_id=body.get("helper_group_id"),
        message_count=body.get("message_count"),
        message_count_increment=body.get("message_count_increment"),
    )
    view = threads.update_thread(forum, g.actor, key, update)
    return write_reply("updated", render_thread(view))


@bp.get("/threads")
@inject
def list_threads(forum: ForumDeps = Provide["forum"]):
    q = query_args(schemas.ThreadsQuery())
    selection = ThreadSelection(
        is_mine=bool(q.get("is_mine")),
        watched_group_id=q.get("watched_group_id"),
        helper_group_id=q.get("helper_group_id"),
    )
    filters = ThreadFilters(
        item_id=q.get("item_id"),
        status=ThreadStatus(q["status"]) if "status" in q else None,
        latest_update_gt=q.get("latest_update_gt"),
    )
    after = _decode_thread_cursor(q["from_"]) if "from_" in q else None
    views = threads.list_threads(forum, g.actor, selection, filters, q["limit"], after)
    return jsonify([{**render_thread(v), "cursor": _thread_cursor(v)} for v in views])


def _thread_cursor(view: ThreadView) -> str:
    t = view.thread
    return KeysetCursor((t.latest_update_at.isoformat(), str(t.key.item_id), str(t.key.participant_id))).encode()


def _decode_thread_cursor(token: str) -> tuple[datetime, ThreadKey]:
    values = KeysetCursor.decode(token, 3, "from").values
    try:
        return parse_client_time(values[0]), ThreadKey(parse_id(values[1]), parse_id(values[2]))
    except DomainError:
        raise InvalidCursor("from") from None


@bp.get(THREAD + "/events")
@inject
def list_events(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    key = _key(item_id, participant_id)
    q = query_args(schemas.EventsQuery())
    after = Cursor.decode(q["after"], "after") if "after" in q else None
    events = history.list_events(forum, g.actor, key, after, q["limit"])
    return jsonify([e.to_public() for e in events])


@bp.post(THREAD + "/events")
@inject
def record_task_event(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    key = _key(item_id, participant_id)
    body = json_body(schemas.TaskEventBody())
    stored = history.record_task_event(forum, g.actor, _task_event(key, body, forum.now()))
    return write_reply("created", stored.to_public(), 201)


def _task_event(key: ThreadKey, body: dict, now: datetime) -> ev.ThreadEvent:
    kind = ev.EventType(body["type"])
    if kind == ev.EventType.ATTEMPT_STARTED:
        return ev.attempt_started(key, body["attempt_id"], now)
    if "answer_id" not in body:
        raise schemas.ValidationError({"answer_id": ["required for this event type"]})
    if kind == ev.EventType.SUBMISSION:
        return ev.submission(key, body["attempt_id"], body["answer_id"], now, body.get("score"), body.get("validated"))
    if "score" not in body:
        raise schemas.ValidationError({"score": ["required for grade_updated"]})
    return ev.grade_updated(key, body["attempt_id"], body["answer_id"], body["score"], now)


@bp.get(THREAD + "/messages")
@inject
def list_messages(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    key = _key(item_id, participant_id)
    q = query_args(schemas.MessagesQuery())
    before = Cursor.decode(q["before"], "before") if "before" in q else None
    found = messages.list_messages(forum, g.actor, key, before, q["limit"])
    return jsonify([m.to_public() for m in found])


@bp.post(THREAD + "/messages")
@inject
def post_message(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    key = _key(item_id, participant_id)
    body = json_body(schemas.PostMessageBody())
    result = messages.post_message(forum, g.actor, key, body["text"], body.get("uuid"))
    headers = {} if result.created else {"Idempotent-Replayed": "true"}
    return write_reply("created", result.message.to_public(), 201, headers)


@bp.put(THREAD + "/messages/<uuid>")
@inject
def edit_message(item_id: str, participant_id: str, uuid: str, forum: ForumDeps = Provide["forum"]):
    key, uuid = _key(item_id, participant_id), _message_uuid(uuid)
    body = json_body(schemas.EditMessageBody())
    edited = messages.edit_message(forum, g.actor, key, uuid, body["text"])
    return write_reply("updated", edited.to_public())


@bp.delete(THREAD + "/messages/<uuid>")
@inject
def delete_message(item_id: str, participant_id: str, uuid: str, forum: ForumDeps = Provide["forum"]):
    key, uuid = _key(item_id, participant_id), _message_uuid(uuid)
    messages.delete_message(forum, g.actor, key, uuid)
    return write_reply("deleted", {"uuid": uuid})


@bp.put(THREAD + "/read")
@inject
def mark_read(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    marker = messages.mark_read(forum, g.actor, _key(item_id, participant_id))
    data = {"seen_message_count": marker.seen_message_count, "cursor": Cursor(marker.last_seq).encode()}
    return write_reply("updated", data)


def _render_follow(state: follows.FollowState) -> dict:
    return {"following": state.following, "expires_at": rfc3339(state.expires_at) if state.expires_at else None}


@bp.get(THREAD + "/follow")
@inject
def get_follow(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    state = follows.get_follow(forum, g.actor, _key(item_id, participant_id))
    return jsonify(_render_follow(state))


@bp.put(THREAD + "/follow")
@inject
def follow(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    state = follows.follow_thread(forum, g.actor, _key(item_id, participant_id))
    return write_reply("updated", _render_follow(state))


@bp.delete(THREAD + "/follow")
@inject
def unfollow(item_id: str, participant_id: str, forum: ForumDeps = Provide["forum"]):
    state = follows.unfollow_thread(forum, g.actor, _key(item_id, participant_id))
    return write_reply("deleted", _render_follow(state))


@bp.get("/notifications")
@inject
def list_notifications(forum: ForumDeps = Provide["forum"]):
    q = query_args(schemas.NotificationsQuery())
    found = notifications.list_notifications(forum.notifications, g.actor, q.get("before"), q["limit"])
    return jsonify([n.to_public() for n in found])


@bp.delete("/notifications/<notification_id>")
@inject
def delete_notification(notification_id: str, forum: ForumDeps = Provide["forum"]):
    notifications.delete_notification(forum.notifications, g.actor, notification_id)
    return write_reply("deleted", {"id": notification_id})


@bp.put("/notifications/<notification_id>/read")
@inject
def mark_notification_read(notification_id: str, forum: ForumDeps = Provide["forum"]):
    notifications.mark_notification_read(forum.notifications, g.actor, notification_id)
    return write_reply("updated", {"id": notification_id, "read": True})
