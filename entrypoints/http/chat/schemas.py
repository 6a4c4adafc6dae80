"""marshmallow schemas of the /chat endpoints: what they load (bodies, query strings) and dump."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from domain.chat.model import MAX_COMMENT_CHARS, MAX_DISPLAY_NAME_CHARS, Position
from domain.shared import DomainError
from entrypoints.http.schemas import Id, Out, QueryInt, StrictSchema, write_envelope

POSITION_EXAMPLE = "2026-01-02T03:04:05.678Z"
POSITION_DESCRIPTION = (
    "a comment's position as returned by this service: its creation time in UTC to the millisecond, "
    "with `~NNNN` when several comments share the millisecond (a query takes it, or the `cursor`)"
)


class PositionField(fields.Field):
    """A comment position in a query string: as readable (`position`) or as a list item's
    `cursor`; 400 with the field's name when it is neither."""

    def _deserialize(self, value, attr, data, **kwargs):
        name = attr or "position"
        try:
            if isinstance(value, str) and value[:1].isdigit() and "-" in value[:5]:
                return Position.decode(value, name)
            return Position.from_cursor(value, name)
        except DomainError as err:
            raise ValidationError(err.details.get(name, [err.message])) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.encode()


class CreateRoomBody(StrictSchema):
    # Length and blankness are checked by the domain (422); the type here (400).
    display_name = fields.String(
        allow_none=True, metadata={"description": f"1..{MAX_DISPLAY_NAME_CHARS} characters; the room id if absent"}
    )


class CommentBody(StrictSchema):
    text = fields.String(required=True, metadata={"description": f"1..{MAX_COMMENT_CHARS} characters after trimming"})


def _limit(default: int, maximum: int = 100) -> QueryInt:
    return QueryInt(load_default=default, validate=validate.Range(min=1, max=maximum))


class CommentsQuery(StrictSchema):
    after = PositionField(metadata={"description": "comments after this position (the last one of the previous page)"})
    # `from` is a Python keyword: the field is loaded as `first`.
    first = PositionField(data_key="from", metadata={"description": "first position of a range, included"})
    last = PositionField(data_key="to", metadata={"description": "last position of a range, included"})
    limit = _limit(50)


class LatestQuery(StrictSchema):
    before = PositionField(metadata={"description": "comments before this position (to page further back)"})
    limit = _limit(10)


class MembersQuery(StrictSchema):
    after = Id(metadata={"description": "the last user id of the previous page"})
    limit = _limit(50)


class MyRoomsQuery(StrictSchema):
    after = fields.String(metadata={"description": "the last room id of the previous page"})
    limit = _limit(50)


# --- what the endpoints answer ---------------------------------------------------------------


class RoomOut(Out):
    room_id = fields.String(required=True)
    display_name = fields.String(required=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class MembershipOut(Out):
    room_id = fields.String(required=True)
    user_id = fields.String(required=True)
    joined_at = fields.String(required=True, metadata={"format": "date-time"})
    cursor = fields.String(required=True, metadata={"description": "pass as `after` for the next page"})


class CommentOut(Out):
    room_id = fields.String(required=True)
    user_id = fields.String(required=True)
    text = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    position = fields.String(required=True, metadata={"description": POSITION_DESCRIPTION})
    cursor = fields.String(
        required=True,
        metadata={"description": "the position, opaque: `after`, `before` and the websocket's `since` take it"},
    )


class LeftOut(Out):
    room_id = fields.String(required=True)
    user_id = fields.String(required=True)
    was_member = fields.Boolean(required=True)


class DeletedRoomOut(Out):
    room_id = fields.String(required=True)


RoomCreated = write_envelope("ChatRoomCreated", RoomOut, ("created",))
RoomDeleted = write_envelope("ChatRoomDeleted", DeletedRoomOut, ("deleted",))
Joined = write_envelope("ChatJoined", MembershipOut, ("created", "updated"))
Left = write_envelope("ChatLeft", LeftOut, ("deleted",))
CommentCreated = write_envelope("ChatCommentCreated", CommentOut, ("created",))
