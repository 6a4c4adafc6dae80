"""Bodies and query strings of /live (marshmallow; unknown fields are refused, as elsewhere)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from domain.live.questions import MAX_FEEDBACK_CHARS, MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS
from domain.live.rooms import MAX_ROOM_NAME_CHARS, MAX_TIME_LIMIT_SECONDS, MIN_TIME_LIMIT_SECONDS
from entrypoints.http.schemas import QueryInt

MAX_PAGE = 100


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
