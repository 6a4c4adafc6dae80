"""marshmallow fields and schemas every context's HTTP API shares: ids, query-string values, the
write reply and the error envelope. A context's own schemas live in its package
(entrypoints/http/forum/schemas.py)."""

from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate

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


class Out(Schema):
    """Responses may grow fields; clients must ignore the ones they do not know."""

    class Meta:
        unknown = INCLUDE


class ErrorDetail(Out):
    code = fields.String(required=True, metadata={"description": "machine-readable, snake_case"})
    details = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), required=True,
        metadata={"description": "field name → reasons"},
    )


class ErrorEnvelope(Out):
    success = fields.Boolean(required=True, validate=validate.Equal(False))
    message = fields.String(required=True)
    error = fields.Nested(ErrorDetail, required=True)


def write_envelope(name: str, data: type[Schema], messages: tuple[str, ...]) -> type[Schema]:
    """AlgoREA's write reply, `{success, message, data}`, around one data schema (common.py's
    `created` / `updated` / `deleted` send it)."""
    return type(
        name,
        (Out,),
        {
            "success": fields.Boolean(required=True, validate=validate.Equal(True)),
            "message": fields.String(required=True, validate=validate.OneOf(list(messages))),
            "data": fields.Nested(data, required=True),
        },
    )
