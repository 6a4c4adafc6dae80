"""marshmallow schemas of the /sessions endpoints: what they read, and what they answer (OpenAPI)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from domain.sessions.model import MAX_LABEL_CHARS, SESSION_ID_CHARS, SessionState
from entrypoints.http.schemas import Id, Out, QueryInt, StrictSchema, write_envelope

SESSION_ID_PATTERN = rf"^[0-9a-f]{{{SESSION_ID_CHARS}}}$"


class SessionId(fields.String):
    """A session id: 32 lower-case hex digits (the first 12 are the creation time)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) != SESSION_ID_CHARS or any(c not in "0123456789abcdef" for c in text):
            raise ValidationError(f"must be {SESSION_ID_CHARS} lower-case hex digits")
        return text


class CreateSessionBody(StrictSchema):
    customer_id = Id(metadata={"description": "another customer than the caller needs the sessions:admin scope"})


class CreateChildBody(StrictSchema):
    label = fields.String(validate=validate.Length(min=1, max=MAX_LABEL_CHARS),
                          metadata={"description": "what the child is: a device, a tab, a websocket"})


class CustomerQuery(StrictSchema):
    customer_id = Id(metadata={"description": "default: the caller; another customer needs sessions:admin"})


class SessionsQuery(CustomerQuery):
    before = SessionId(metadata={"description": "a cursor from the previous page"})
    limit = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


# -- answers ----------------------------------------------------------------------------------


class SessionOut(Out):
    id = fields.String(required=True)
    customer_id = Id(required=True)
    session_state = fields.String(required=True, validate=validate.OneOf([s.value for s in SessionState]))
    last_login_time = fields.DateTime(required=True)
    last_active_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True, metadata={"description": "idle or absolute, whichever comes first"})
    lifetime_ends_at = fields.DateTime(required=True)
    child_session_ids = fields.List(fields.String(), required=True)


class SessionListItem(SessionOut):
    cursor = fields.String(required=True, metadata={"description": "pass as `before` for the next page"})


class SessionRefOut(Out):
    id = fields.String(required=True)
    cursor = fields.String(required=True)


class IssuedSessionOut(SessionOut):
    access_token = fields.String(required=True, metadata={"description": "a short-lived JWT carrying `sid`"})
    token_expires_at = fields.DateTime(required=True)


class ChildOut(Out):
    id = fields.String(required=True)
    session_id = fields.String(required=True)
    customer_id = Id(required=True)
    created_at = fields.DateTime(required=True)
    label = fields.String(allow_none=True)


class EndedOut(Out):
    id = fields.String(required=True)
    session_state = fields.String(required=True, validate=validate.Equal(SessionState.CLOSING.value))


class LastLoginOut(Out):
    customer_id = Id(required=True)
    last_login_time = fields.DateTime(required=True, allow_none=True)


SessionCreated = write_envelope("SessionCreated", IssuedSessionOut, ("created",))
SessionEnded = write_envelope("SessionEnded", EndedOut, ("deleted",))
ChildCreated = write_envelope("ChildCreated", ChildOut, ("created",))
