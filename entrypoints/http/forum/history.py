"""A thread's history: its events (and the task events services record) and its messages."""

from __future__ import annotations

from datetime import datetime

from flask import g

from application.forum import history, messages
from domain.forum import events as ev
from domain.forum.model import ThreadKey
from domain.shared import Cursor, InvalidRequest
from entrypoints.http.common import created, deleted, updated
from entrypoints.http.forum import schemas
from entrypoints.http.forum.blueprint import THREAD, bp, forum_deps
from entrypoints.http.schemas import ValidationError

MESSAGE = THREAD + "/messages/<uuid>"


def _message_uuid(raw: str) -> str:
    """A message uuid from the path. Posting accepts no other shape, so no other can name a message;
    refused here, it never reaches a store (DynamoDB refuses a key over 1 KiB with an error)."""
    if not ev.UUID_PATTERN.fullmatch(raw):
        raise InvalidRequest(
            "invalid uuid", {"uuid": [f"must be 1..{ev.MAX_UUID_CHARS} characters among A-Z a-z 0-9 . _ ~ -"]}
        )
    return raw


@bp.get(THREAD + "/events")
@bp.arguments(schemas.EventsQuery, location="query")
@bp.response(200, schemas.Event(many=True))
def list_events(query: dict, item_id: int, participant_id: int):
    """A thread's events in order, after a cursor"""
    after = Cursor.decode(query["after"], "after") if "after" in query else None
    found = history.list_events(forum_deps(), g.actor, ThreadKey(item_id, participant_id), after, query["limit"])
    return [e.to_public() for e in found]


@bp.post(THREAD + "/events")
@bp.arguments(
    schemas.TaskEventBody,
    example={"type": "submission", "attempt_id": "3", "answer_id": "12", "score": 80, "validated": False},
)
@bp.response(201, schemas.EventReply)
def record_task_event(body: dict, item_id: int, participant_id: int):
    """Record an attempt, submission or grade (service token with the forum:events scope)"""
    forum = forum_deps()
    event = _task_event(ThreadKey(item_id, participant_id), body, forum.now())
    return created(history.record_task_event(forum, g.actor, event).to_public())


def _task_event(key: ThreadKey, body: dict, now: datetime) -> ev.ThreadEvent:
    kind = ev.EventType(body["type"])
    if kind == ev.EventType.ATTEMPT_STARTED:
        return ev.attempt_started(key, body["attempt_id"], now)
    if "answer_id" not in body:
        raise ValidationError({"answer_id": ["required for this event type"]})
    if kind == ev.EventType.SUBMISSION:
        return ev.submission(key, body["attempt_id"], body["answer_id"], now, body.get("score"), body.get("validated"))
    if "score" not in body:
        raise ValidationError({"score": ["required for grade_updated"]})
    return ev.grade_updated(key, body["attempt_id"], body["answer_id"], body["score"], now)


@bp.get(THREAD + "/messages")
@bp.arguments(schemas.MessagesQuery, location="query")
@bp.response(200, schemas.Message(many=True))
def list_messages(query: dict, item_id: int, participant_id: int):
    """A thread's messages, newest first, before a cursor"""
    before = Cursor.decode(query["before"], "before") if "before" in query else None
    found = messages.list_messages(forum_deps(), g.actor, ThreadKey(item_id, participant_id), before, query["limit"])
    return [m.to_public() for m in found]


@bp.post(THREAD + "/messages")
@bp.arguments(
    schemas.PostMessageBody, example={"text": "Could you look at my second answer?", "uuid": "4f6c2a1e-message-1"}
)
@bp.response(
    201, schemas.MessageCreated,
    headers={"Idempotent-Replayed": {"description": "`true` when answering a retry", "schema": {"type": "string"}}},
)
@bp.errors(409)
def post_message(body: dict, item_id: int, participant_id: int):
    """Post a message; a retry with the same uuid returns the first result"""
    key = ThreadKey(item_id, participant_id)
    result = messages.post_message(forum_deps(), g.actor, key, body["text"], body.get("uuid"))
    return created(result.message.to_public(), {} if result.created else {"Idempotent-Replayed": "true"})


@bp.put(MESSAGE, parameters=[schemas.UUID_PARAMETER])
@bp.arguments(schemas.EditMessageBody, example={"text": "Could you look at my third answer?"})
@bp.response(200, schemas.MessageUpdated)
@bp.errors(404, 409)
def edit_message(body: dict, item_id: int, participant_id: int, uuid: str):
    """Edit one's own message"""
    key, uuid = ThreadKey(item_id, participant_id), _message_uuid(uuid)
    return updated(messages.edit_message(forum_deps(), g.actor, key, uuid, body["text"]).to_public())


@bp.delete(MESSAGE, parameters=[schemas.UUID_PARAMETER])
@bp.response(200, schemas.MessageDeleted)
@bp.errors(404, 409)
def delete_message(item_id: int, participant_id: int, uuid: str):
    """Delete a message (author or moderator)"""
    key, uuid = ThreadKey(item_id, participant_id), _message_uuid(uuid)
    messages.delete_message(forum_deps(), g.actor, key, uuid)
    return deleted({"uuid": uuid})
