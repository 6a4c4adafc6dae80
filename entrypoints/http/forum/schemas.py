"""The forum's request and response schemas: what its views read with `@bp.arguments` and what
their `@bp.response` documents (the views render the JSON themselves)."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.forum.events import MAX_UUID_CHARS, TASK_EVENT_TYPES, EventType
from domain.forum.model import STORED_STATUSES, ThreadStatus
from entrypoints.http.schemas import Flag, Id, Out, QueryInt, StrictSchema, UtcTime, write_envelope

# --- requests --------------------------------------------------------------------------------


class UpdateThreadBody(StrictSchema):
    status = fields.String(validate=validate.OneOf(sorted(STORED_STATUSES)))
    helper_group_id = Id(allow_none=True)
    message_count = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**31 - 1))
    message_count_increment = fields.Integer(strict=True, validate=validate.Range(min=-(2**31), max=2**31 - 1))


class PostMessageBody(StrictSchema):
    text = fields.String(required=True)
    uuid = fields.String()


class EditMessageBody(StrictSchema):
    text = fields.String(required=True)


class TaskEventBody(StrictSchema):
    type = fields.String(
        required=True,
        validate=validate.OneOf(sorted(str(t) for t in TASK_EVENT_TYPES)),
    )
    attempt_id = Id(required=True)
    answer_id = Id()
    score = fields.Float(allow_nan=False, validate=validate.Range(min=0, max=100))
    validated = fields.Boolean(truthy={True}, falsy={False})


class EventsQuery(StrictSchema):
    after = fields.String()
    limit = QueryInt(load_default=100, validate=validate.Range(min=1, max=500))


class MessagesQuery(StrictSchema):
    before = fields.String()
    limit = QueryInt(load_default=10, validate=validate.Range(min=1, max=20))


class ThreadsQuery(StrictSchema):
    is_mine = Flag(metadata={"example": "1"})
    watched_group_id = Id()
    helper_group_id = Id()
    item_id = Id()
    status = fields.String(validate=validate.OneOf([s.value for s in ThreadStatus if s != ThreadStatus.NOT_STARTED]))
    latest_update_gt = UtcTime()
    limit = QueryInt(load_default=20, validate=validate.Range(min=1, max=100), metadata={"example": 20})
    from_ = fields.String(data_key="from")


class NotificationsQuery(StrictSchema):
    before = fields.String()
    limit = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


# --- responses -------------------------------------------------------------------------------


class Thread(Out):
    item_id = Id(required=True)
    participant_id = Id(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in ThreadStatus]))
    helper_group_id = Id(allow_none=True)
    message_count = fields.Integer(validate=validate.Range(min=0))
    latest_update_at = fields.DateTime(allow_none=True)
    can_write = fields.Boolean()
    token = fields.String(allow_none=True, metadata={"description": "thread token for the websocket"})
    unread_count = fields.Integer(validate=validate.Range(min=0))


class ThreadListItem(Thread):
    cursor = fields.String(required=True, metadata={"description": "pass as `from` for the next page"})


class Event(Out):
    cursor = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    time = fields.DateTime(required=True)
    user_id = Id(required=True, allow_none=True)
    item_id = Id(required=True)
    participant_id = Id(required=True)


class Message(Event):
    uuid = fields.String(required=True)
    text = fields.String(metadata={"description": "absent once the message is deleted"})
    edited_at = fields.DateTime()
    deleted = fields.Boolean()


class FollowState(Out):
    following = fields.Boolean(required=True)
    expires_at = fields.DateTime(required=True, allow_none=True)


class ReadMarker(Out):
    seen_message_count = fields.Integer(required=True, validate=validate.Range(min=0))
    cursor = fields.String(required=True)


class Notification(Out):
    id = fields.String(required=True)
    type = fields.String(required=True)
    item_id = Id(required=True)
    participant_id = Id(required=True)
    event = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    read = fields.Boolean(required=True)


class DeletedMessage(Out):
    uuid = fields.String(required=True)


class NotificationRef(Out):
    id = fields.String(required=True)
    read = fields.Boolean()


ThreadReply = write_envelope("ThreadReply", Thread, ("updated",))
EventReply = write_envelope("EventReply", Event, ("created",))
MessageCreated = write_envelope("MessageCreated", Message, ("created",))
MessageUpdated = write_envelope("MessageUpdated", Message, ("updated",))
MessageDeleted = write_envelope("MessageDeleted", DeletedMessage, ("deleted",))
ReadMarkerReply = write_envelope("ReadMarkerReply", ReadMarker, ("updated",))
FollowReply = write_envelope("FollowReply", FollowState, ("updated", "deleted"))
NotificationReply = write_envelope("NotificationReply", NotificationRef, ("updated", "deleted"))

# A message's uuid in a path: what posting accepts (the view refuses any other with a 400).
UUID_PARAMETER = {
    "in": "path", "name": "uuid", "schema": {"type": "string", "minLength": 1, "maxLength": MAX_UUID_CHARS}
}
