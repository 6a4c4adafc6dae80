"""The OpenAPI description of /live: response schemas, and each operation's summary and statuses.

entrypoints/http/openapi.py calls `operations` with its `Op` record and status sets, so this module
imports nothing from it (no import cycle).
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from entrypoints.http import schemas
from entrypoints.http.live import schemas as live

ROOM_STATES = ["no_question", "question_opened", "question_closed", "room_closed"]


class Out(Schema):
    """Responses may grow fields; clients must ignore the ones they do not know."""

    class Meta:
        unknown = INCLUDE


class LiveRoom(Out):
    room_id = fields.String(required=True)
    name = fields.String(required=True)
    owner_id = schemas.Id(required=True)
    state = fields.String(required=True, validate=validate.OneOf(ROOM_STATES))
    question_id = fields.String(allow_none=True)
    deadline = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    events_cursor = fields.String(metadata={"description": "the newest room event: `since` on the websocket"})


class LiveRoomListItem(LiveRoom):
    cursor = fields.String(required=True, metadata={"description": "pass as `from` for the next page"})


class LiveOption(Out):
    index = fields.Integer(required=True)
    text = fields.String(required=True)
    is_correct = fields.Boolean(metadata={"description": "shown to the owner, and to everyone once closed"})
    post_text = fields.String(metadata={"description": "feedback; shown to the owner, and to everyone once closed"})


class LiveQuestion(Out):
    question_id = fields.String(required=True)
    text = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["discursive", "single_answer", "multiple_answer"]))
    options = fields.List(fields.Nested(LiveOption), required=True)
    created_at = fields.DateTime(allow_none=True)


class LiveQuestionListItem(LiveQuestion):
    cursor = fields.String(required=True)


class LiveAttempt(Out):
    user_id = schemas.Id(required=True)
    question_id = fields.String(required=True)
    answer = fields.Raw(required=True, metadata={"description": "an index, a list of indices, or text"})
    answered_at = fields.DateTime(required=True)


class LiveFeedback(Out):
    index = fields.Integer(required=True)
    text = fields.String(required=True)
    post_text = fields.String(required=True)


class LiveResult(Out):
    question_id = fields.String(required=True)
    answer = fields.Raw(required=True)
    correct = fields.Boolean(required=True, allow_none=True, metadata={"description": "null for free text"})
    marked_correctly = fields.List(fields.Nested(LiveFeedback), required=True)
    missed = fields.List(fields.Nested(LiveFeedback), required=True)
    marked_wrongly = fields.List(fields.Nested(LiveFeedback), required=True)


class LiveCounts(Out):
    question_id = fields.String(required=True, allow_none=True, metadata={"description": "null: none picked yet"})
    question_type = fields.String(required=True, allow_none=True)
    attempts = fields.Integer(required=True)
    counts = fields.List(fields.Integer(), required=True, metadata={"description": "attempts marking each option"})


class LiveRoomState(Out):
    room = fields.Nested(LiveRoom, required=True)
    question = fields.Nested(LiveQuestion, required=True, allow_none=True)
    feedback_released = fields.Boolean()
    my_attempt = fields.Nested(LiveAttempt, required=True, allow_none=True)
    my_result = fields.Nested(LiveResult, required=True, allow_none=True)
    attempts = fields.List(fields.Nested(LiveAttempt), metadata={"description": "the owner only"})
    option_counts = fields.Nested(LiveCounts, metadata={"description": "the owner only"})


def _reply(name: str, data: type[Schema], messages: tuple[str, ...]) -> type[Schema]:
    """AlgoREA's write reply, `{success, message, data}`, around one data schema."""
    return type(name, (Out,), {
        "success": fields.Boolean(required=True, validate=validate.Equal(True)),
        "message": fields.String(required=True, validate=validate.OneOf(list(messages))),
        "data": fields.Nested(data, required=True),
    })


LiveRoomReply = _reply("LiveRoomReply", LiveRoom, ("created", "updated"))
LiveQuestionReply = _reply("LiveQuestionReply", LiveQuestion, ("created",))
LiveAttemptReply = _reply("LiveAttemptReply", LiveAttempt, ("created", "updated"))


def operations(Op, read: tuple[int, ...], write: tuple[int, ...], body: tuple[int, ...]) -> dict[str, Any]:  # noqa: N803
    def op(summary: str, ok, **kwargs):
        return Op(summary, ok, tag="live questions", **kwargs)

    owner_write = write + (404, 409)
    return {
        "live.create_room": op(
            "Create a room (its owner is the caller); a taken id is a 409", LiveRoomReply, status=201,
            errors=write + (409,) + body, body=live.CreateRoomBody, example={"room_id": "maths-101", "name": "Maths"},
        ),
        "live.list_rooms": op("Rooms, by id", LiveRoomListItem, many=True, query=live.PageQuery),
        "live.get_room": op(
            "The room now: its state, the current question (answers hidden while open), the caller's attempt "
            "and result; for the owner, the attempts and per-option counts", LiveRoomState, errors=read + (404,),
        ),
        "live.pick_question": op(
            "Owner: make one of one's questions the current one (refused while one is open)", LiveRoomReply,
            errors=owner_write + body, body=live.PickBody,
            example={"question_id": "0f8e6c1a9b2d4e3f8a7b6c5d4e3f2a1b", "time_limit_seconds": 60},
        ),
        "live.close_question": op(
            "Owner: close the current question, which releases its feedback", LiveRoomReply, errors=owner_write
        ),
        "live.close_room": op("Owner: close the room (and its open question)", LiveRoomReply, errors=owner_write),
        "live.submit_attempt": op(
            "Answer the current question; answering again replaces the answer (409 once closed)", LiveAttemptReply,
            status=201, errors=owner_write + body, body=live.AttemptBody, example={"answer": 1},
        ),
        "live.list_attempts": op(
            "Owner: the attempts at the current question", LiveAttempt, many=True, errors=read + (404,)
        ),
        "live.option_counts": op(
            "Owner: per-option counts for the current question", LiveCounts, errors=read + (404,)
        ),
        "live.export_attempts": op(
            "Owner: every attempt in the room as CSV", None, errors=read + (404,), content_type="text/csv"
        ),
        "live.create_question": op(
            "Add a question to one's bank (no options: free text; options need a correct one)", LiveQuestionReply,
            status=201, errors=write + body, body=live.CreateQuestionBody,
            example={"text": "2 + 2?", "options": [{"text": "4", "is_correct": True, "post_text": "Yes."},
                                                  {"text": "5", "post_text": "Count again."}]},
        ),
        "live.list_questions": op(
            "One's own questions, oldest first", LiveQuestionListItem, many=True, query=live.PageQuery
        ),
        "live.get_question": op(
            "One of one's own questions (another's is a 404)", LiveQuestion, errors=read + (404,)
        ),
    }
