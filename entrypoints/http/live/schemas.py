"""Bodies and query strings of /live (marshmallow; unknown fields are refused, as elsewhere)."""

from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from domain.live.questions import MAX_FEEDBACK_CHARS, MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS
from domain.live.rooms import MAX_ROOM_NAME_CHARS, MAX_TIME_LIMIT_SECONDS, MIN_TIME_LIMIT_SECONDS
from entrypoints.http import schemas
from entrypoints.http.schemas import QueryInt

MAX_PAGE = 100
ROOM_STATES = ["no_question", "question_opened", "question_closed", "room_closed"]


class Strict(Schema):
    class Meta:
        unknown = RAISE


class CreateRoomBody(Strict):
    room_id = fields.String(required=True, metadata={"description": "1..64 of A-Z a-z 0-9 _ -"})
    name = fields.String(validate=validate.Length(min=1, max=MAX_ROOM_NAME_CHARS))


class OptionBody(Strict):
    text = fields.String(required=True, validate=validate.Length(max=MAX_OPTION_CHARS))
    is_correct = fields.Boolean(load_default=False)
    post_text = fields.String(load_default="", validate=validate.Length(max=MAX_FEEDBACK_CHARS),
                              metadata={"description": "feedback shown with this option once the question closes"})


class CreateQuestionBody(Strict):
    text = fields.String(required=True, validate=validate.Length(max=MAX_QUESTION_CHARS))
    options = fields.List(fields.Nested(OptionBody), load_default=list, validate=validate.Length(max=MAX_OPTIONS),
                          metadata={"description": "none: a free-text question"})


class PickBody(Strict):
    question_id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    time_limit_seconds = fields.Integer(
        strict=True, allow_none=True,
        metadata={"description": f"closes by itself after this ({MIN_TIME_LIMIT_SECONDS}..{MAX_TIME_LIMIT_SECONDS})"},
    )


class AttemptBody(Strict):
    answer = fields.Raw(
        required=True, allow_none=True,
        metadata={"description": "an option index (single_answer), a list of indices (multiple_answer) or text"},
    )
    question_id = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the question answered: refused (409) when it is no longer the current one"},
    )


class PageQuery(Strict):
    limit = QueryInt(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    from_ = fields.String(data_key="from", metadata={"description": "the last item's cursor"})


# -- what the endpoints answer (documentation: the views render their own JSON) --------------------


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
