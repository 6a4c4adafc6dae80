"""marshmallow schemas for every body and query string of the HTTP API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from domain.forum.events import TASK_EVENT_TYPES
from domain.forum.model import STORED_STATUSES, ThreadStatus
from domain.shared import MAX_ID, DomainError, client_utc


class Id(fields.Field):
    """A positive 64-bit integer, sent as a decimal string (a JSON number is accepted too)."""

    default_error_messages = {"invalid": "must be a positive 64-bit integer written as a decimal string"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            value = int(value)
        if not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise self.make_error("invalid")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class QueryInt(fields.Integer):
    """A query-string integer in ASCII digits: int() would also take "١" or " 5 ", which no id or
    limit of this API is written as."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Flag(fields.Field):
    """A query-string boolean: 1/0/true/false."""

    def _deserialize(self, value, attr, data, **kwargs):
        if str(value).lower() in ("1", "true"):
            return True
        if str(value).lower() in ("0", "false"):
            return False
        raise ValidationError("must be 1 or 0")


class UtcTime(fields.AwareDateTime):
    """An RFC 3339 time with an offset, given back in UTC. One whose UTC value is no date
    (0001-01-01T00:00:00+01:00 underflows, 9999-12-31T23:59:59-01:00 overflows) is a 400."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return client_utc(parsed)
        except DomainError as err:
            raise ValidationError([why for whys in err.details.values() for why in whys]) from None


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


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
    is_mine = Flag()
    watched_group_id = Id()
    helper_group_id = Id()
    item_id = Id()
    status = fields.String(validate=validate.OneOf([s.value for s in ThreadStatus if s != ThreadStatus.NOT_STARTED]))
    latest_update_gt = UtcTime()
    limit = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))
    from_ = fields.String(data_key="from")


class NotificationsQuery(StrictSchema):
    before = fields.String()
    limit = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))
