"""The dm context's request and response schemas: what its views read with `@bp.arguments` and what
their `@bp.response` documents (the views render the JSON themselves).

Values (lengths, handles, who one may write to) are the domain's to check, so that one 422 lists
every failing field; the request schemas only refuse wrong types and unknown fields (400)."""

from __future__ import annotations

from marshmallow import fields, validate

from application.dm.ports import DEFAULT_PAGE, MAX_PAGE
from entrypoints.http.schemas import Out, QueryInt, StrictSchema, write_envelope

# --- requests --------------------------------------------------------------------------------


class DmProfileBody(StrictSchema):
    handle = fields.String(load_default=None, metadata={"description": "2..32 of a-z 0-9 _; unique"})
    display_name = fields.String(load_default=None, metadata={"description": "1..64 characters"})


class DmGroupMessageBody(StrictSchema):
    message = fields.String(load_default=None, metadata={"description": "1..1024 characters after trimming"})


class DmHandleMessageBody(DmGroupMessageBody):
    handle = fields.String(load_default=None, metadata={"description": "the recipient's handle"})


class DmPageQuery(StrictSchema):
    before = fields.String(metadata={"description": "an item's `cursor`: the page before it"})
    limit = QueryInt(
        load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"default {DEFAULT_PAGE}, at most {MAX_PAGE}"},
    )


# --- responses -------------------------------------------------------------------------------


class DmProfile(Out):
    uuid = fields.String(required=True)
    handle = fields.String(required=True)
    display_name = fields.String(required=True)


class DmMessage(Out):
    message_uuid = fields.String(required=True)
    message_group_uuid = fields.String(required=True)
    message = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    user_uuid = fields.String(required=True, metadata={"description": "the sender"})
    user_display_name = fields.String(required=True)
    user_handle = fields.String(required=True)
    cursor = fields.String(required=True, metadata={"description": "pass as `before` for the page before"})


class DmSent(DmMessage):
    new_group = fields.Boolean(required=True, metadata={"description": "this message created the group"})


class DmGroup(Out):
    message_group_uuid = fields.String(required=True)
    user_uuid = fields.String(required=True, metadata={"description": "the other member"})
    user_display_name = fields.String(required=True)
    user_handle = fields.String(required=True)
    message = fields.String(required=True, metadata={"description": "the last message"})
    last_message_at = fields.DateTime(required=True)
    unread_count = fields.Integer(required=True, validate=validate.Range(min=0))
    cursor = fields.String(required=True, metadata={"description": "pass as `before` for the next page"})


class DmReadState(Out):
    message_group_uuid = fields.String(required=True)
    unread_count = fields.Integer(required=True, validate=validate.Range(min=0))


DmProfileReply = write_envelope("DmProfileReply", DmProfile, ("updated",))
DmMessageCreated = write_envelope("DmMessageCreated", DmSent, ("created",))
DmReadReply = write_envelope("DmReadReply", DmReadState, ("updated",))
