"""What the AlgoREA surface reads and answers, in AlgoREA's shapes (ids as decimal strings)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from domain.shared import MAX_ID
from entrypoints.http.schemas import Id, Out

OPEN_AND_CLOSED = ["waiting_for_participant", "waiting_for_trainer", "closed"]
ALL_STATUSES = ["not_started", *OPEN_AND_CLOSED]


class Int64(Id):
    """AlgoREA's int64 in a body: a JSON number or a decimal string (the front end sends both);
    the same rule as Parley's ids, with the backend's own message."""

    default_error_messages = {"invalid": "should be an int64"}


class _Strict(Schema):
    error_messages = {"unknown": "unexpected field"}

    class Meta:
        unknown = RAISE


class AlgoreaThreadUpdate(_Strict):
    status = fields.String(
        validate=validate.OneOf(OPEN_AND_CLOSED, error=f"status must be one of [{' '.join(OPEN_AND_CLOSED)}]")
    )
    helper_group_id = Int64(allow_none=True, metadata={"description": "a group id, as a string or a number"})
    message_count = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=2**31 - 1, error="message_count must be 0 or greater")
    )
    message_count_increment = fields.Integer(strict=True, validate=validate.Range(min=-(2**31), max=2**31 - 1))


class AlgoreaThread(Out):
    participant_id = fields.String(required=True)
    item_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ALL_STATUSES))
    token = fields.String(
        required=True, allow_none=True,
        metadata={"description": "the thread token (null when Parley signs none: PARLEY_THREAD_TOKEN_*)"},
    )


class AlgoreaUpdated(Out):
    success = fields.Boolean(required=True, validate=validate.Equal(True))
    message = fields.String(required=True, validate=validate.Equal("updated"))


class AlgoreaListItem(Out):
    id = fields.String(required=True)
    language_tag = fields.String(required=True, allow_none=True)
    title = fields.String(required=True, allow_none=True)
    type = fields.String(required=True, allow_none=True)


class AlgoreaListParticipant(Out):
    id = fields.String(required=True)
    login = fields.String(required=True, allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)


class AlgoreaListThread(Out):
    item = fields.Nested(AlgoreaListItem, required=True)
    participant = fields.Nested(AlgoreaListParticipant, required=True)
    latest_update_at = fields.String(required=True, metadata={"format": "date-time"})
    message_count = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ALL_STATUSES))


class AlgoreaError(Out):
    success = fields.Boolean(required=True, validate=validate.Equal(False))
    message = fields.String(required=True, metadata={"description": "the HTTP status text"})
    error_text = fields.String(metadata={"description": "why"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


# --- events --------------------------------------------------------------------------------------

EVENT_TYPES = ("thread_status_changed", "submission_created", "grade_saved")


class IdString(fields.String):
    """AlgoREA's ids in event payloads: decimal strings. Attempt ids start at 0 (`minimum=0`)."""

    def __init__(self, minimum: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.minimum = minimum

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not (text.isascii() and text.isdigit() and len(text) <= 19 and self.minimum <= int(text) <= MAX_ID):
            raise ValidationError(f"should be an int64 >= {self.minimum} as a decimal string")
        return int(text)


class _Open(Schema):
    """EventBridge and the backend may add fields: unknown ones are ignored."""

    class Meta:
        unknown = "exclude"


class AlgoreaEventDetail(_Open):
    version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+"))
    type = fields.String(required=True)
    source_app = fields.String()
    instance = fields.String()
    time = fields.String()
    request_id = fields.String()
    payload = fields.Dict(required=True)


class AlgoreaEventEnvelope(_Open):
    version = fields.String()
    # EventBridge's ids are UUIDs; any other sender's is printable ASCII (no NUL reaches a store).
    id = fields.String(required=True, validate=validate.Regexp(r"^[\x21-\x7e]{1,128}$",
                                                               error="1 to 128 printable ASCII characters"))
    detail_type = fields.String(data_key="detail-type", required=True)
    source = fields.String()
    time = fields.String()
    detail = fields.Nested(AlgoreaEventDetail, required=True)


class ThreadStatusChanged(_Open):
    participant_id = IdString(required=True)
    item_id = IdString(required=True)
    new_status = fields.String(required=True, validate=validate.OneOf(OPEN_AND_CLOSED))
    former_status = fields.String(required=True, validate=validate.OneOf(ALL_STATUSES))
    helper_group_id = IdString(required=True)
    updated_by = IdString(required=True)


class SubmissionCreated(_Open):
    answer_id = IdString(required=True)
    attempt_id = IdString(minimum=0, required=True)
    author_id = IdString(required=True)
    item_id = IdString(required=True)
    participant_id = IdString(required=True)


class GradeSaved(_Open):
    answer_id = IdString(required=True)
    participant_id = IdString(required=True)
    attempt_id = IdString(minimum=0, required=True)
    item_id = IdString(required=True)
    validated = fields.Boolean(required=True, truthy={True}, falsy={False})
    caller_id = IdString()
    score = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, max=100))


PAYLOADS = {"thread_status_changed": ThreadStatusChanged, "submission_created": SubmissionCreated,
            "grade_saved": GradeSaved}


class AlgoreaEventApplied(Out):
    success = fields.Boolean(required=True, validate=validate.Equal(True))
    message = fields.String(required=True, validate=validate.OneOf(["applied", "already applied", "ignored"]))
    data = fields.Dict(metadata={"description": "`id` (the envelope's) and `applied`"})
