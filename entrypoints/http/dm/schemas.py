"""Bodies and query strings of /dm. Values (lengths, handles, who one may write to) are the domain's
to check, so that one 422 lists every failing field; the schemas only refuse wrong types (400)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from application.dm.ports import DEFAULT_PAGE, MAX_PAGE


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ProfileBody(Strict):
    handle = fields.String(load_default=None, metadata={"description": "2..32 of a-z 0-9 _; unique"})
    display_name = fields.String(load_default=None, metadata={"description": "1..64 characters"})


class GroupMessageBody(Strict):
    message = fields.String(load_default=None, metadata={"description": "1..1024 characters after trimming"})


class HandleMessageBody(GroupMessageBody):
    handle = fields.String(load_default=None, metadata={"description": "the recipient's handle"})


class PageQuery(Strict):
    before = fields.String(metadata={"description": "an item's `cursor`: the page before it"})
    limit = fields.Integer(
        load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"default {DEFAULT_PAGE}, at most {MAX_PAGE}"},
    )
