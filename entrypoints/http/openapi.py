"""The OpenAPI 3 document at /openapi.json and the interactive docs at /docs.

The document is generated: request bodies and query strings come from the marshmallow schemas the
views load with (entrypoints/http/schemas.py), responses from the schemas below, and the paths from
the routes the app actually has. Each endpoint's summary and statuses are in OPERATIONS, keyed by
its Flask endpoint name; an endpoint missing there is caught by tests/unit/http/test_openapi.py.

The docs page is Swagger UI served from the swagger-ui-bundle package, so it works offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, send_from_directory
from marshmallow import INCLUDE, Schema, fields, validate

from domain.forum.events import MAX_MESSAGE_CHARS, EventType
from domain.forum.model import ThreadStatus
from entrypoints.http import schemas
from entrypoints.http.dm import schemas as dm_schemas

OPENAPI_VERSION = "3.0.3"
EXTENSION = "parley.openapi"
ID_PATTERN = r"^[1-9][0-9]{0,18}$"
# Routes that describe the API rather than belong to it.
UNDOCUMENTED_BLUEPRINTS = frozenset({"openapi"})
UNDOCUMENTED_ENDPOINTS = frozenset({"static"})

bp = Blueprint("openapi", __name__)


# --- response bodies -------------------------------------------------------------------------


class Out(Schema):
    """Responses may grow fields; clients must ignore the ones they do not know."""

    class Meta:
        unknown = INCLUDE


class Thread(Out):
    item_id = schemas.Id(required=True)
    participant_id = schemas.Id(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in ThreadStatus]))
    helper_group_id = schemas.Id(allow_none=True)
    message_count = fields.Integer(validate=validate.Range(min=0))
    latest_update_at = fields.DateTime(allow_none=True)
    can_write = fields.Boolean()
    token = fields.String(allow_none=True, metadata={"description": "thread token for the websocket"})
    unread_count = fields.Integer(validate=validate.Range(min=0))


class ThreadListItem(Thread):
    cursor = fields.String(required=True, metadata={"description": "pass as `from` for the next page"})


class Event(Out):
    cursor = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    time = fields.DateTime(required=True)
    user_id = schemas.Id(required=True, allow_none=True)
    item_id = schemas.Id(required=True)
    participant_id = schemas.Id(required=True)


class Message(Event):
    uuid = fields.String(required=True)
    text = fields.String(metadata={"description": "absent once the message is deleted"})
    edited_at = fields.DateTime()
    deleted = fields.Boolean()


class FollowState(Out):
    following = fields.Boolean(required=True)
    expires_at = fields.DateTime(required=True, allow_none=True)


class ReadMarker(Out):
    seen_message_count = fields.Integer(required=True, validate=validate.Range(min=0))
    cursor = fields.String(required=True)


class Notification(Out):
    id = fields.String(required=True)
    type = fields.String(required=True)
    item_id = schemas.Id(required=True)
    participant_id = schemas.Id(required=True)
    event = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    read = fields.Boolean(required=True)


class DeletedMessage(Out):
    uuid = fields.String(required=True)


class NotificationRef(Out):
    id = fields.String(required=True)
    read = fields.Boolean()


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


class Index(Out):
    service = fields.String()
    docs = fields.String()
    openapi = fields.String()
    websocket = fields.String()
    health = fields.Dict(keys=fields.String(), values=fields.String())
    contexts = fields.List(fields.String())
    readme = fields.String()


class Health(Out):
    status = fields.String(required=True)


class CheckResult(Out):
    status = fields.String(required=True, validate=validate.OneOf(["up", "down"]))
    duration_ms = fields.Float()
    error = fields.String()


class Readiness(Out):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "unavailable"]))
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckResult), required=True)


def write_envelope(name: str, data: type[Schema], messages: tuple[str, ...]) -> type[Schema]:
    """AlgoREA's write reply, `{success, message, data}`, around one data schema."""
    return type(
        name,
        (Out,),
        {
            "success": fields.Boolean(required=True, validate=validate.Equal(True)),
            "message": fields.String(required=True, validate=validate.OneOf(list(messages))),
            "data": fields.Nested(data, required=True),
        },
    )


ThreadReply = write_envelope("ThreadReply", Thread, ("updated",))
EventReply = write_envelope("EventReply", Event, ("created",))
MessageCreated = write_envelope("MessageCreated", Message, ("created",))
MessageUpdated = write_envelope("MessageUpdated", Message, ("updated",))
MessageDeleted = write_envelope("MessageDeleted", DeletedMessage, ("deleted",))
ReadMarkerReply = write_envelope("ReadMarkerReply", ReadMarker, ("updated",))
FollowReply = write_envelope("FollowReply", FollowState, ("updated", "deleted"))
NotificationReply = write_envelope("NotificationReply", NotificationRef, ("updated", "deleted"))


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


# --- operations ------------------------------------------------------------------------------

ERROR_TEXT = {
    400: "Malformed request: a bad id, cursor, query parameter or JSON body",
    401: "No credentials, or credentials that do not check out",
    403: "Not allowed for this user",
    404: "No such resource, or not visible",
    409: "State conflict, such as writing on a closed thread",
    413: f"Body over 64 KiB; messages are capped at {MAX_MESSAGE_CHARS} characters (422)",
    415: "Body is not JSON",
    422: "Valid JSON with invalid values",
    426: "Not a websocket upgrade, or a websocket version other than 13",
    429: "Too many writes, or too many reads, by this user: wait Retry-After seconds",
    503: "A backend is unavailable: retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}
REQUEST_ID = {"X-Request-Id": {"description": "the request's id, as logged", "schema": {"type": "string"}}}

READ = (400, 401, 403, 429, 503)
WRITE = (400, 401, 403, 429, 503)
BODY = (413, 415, 422)


@dataclass(frozen=True)
class Op:
    summary: str
    ok: type[Schema] | None
    status: int = 200
    errors: tuple[int, ...] = READ
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    many: bool = False
    tag: str = "forum"
    public: bool = False
    description: str = ""
    content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)
    example: dict[str, Any] | None = None
    query_examples: dict[str, str] = field(default_factory=dict)


OPERATIONS: dict[str, Op] = {
    "forum.get_thread": Op("Read a thread (not_started if it has no row)", Thread),
    "forum.update_thread": Op(
        "Open, close or switch a thread; change its message count", ThreadReply,
        errors=WRITE + BODY, body=schemas.UpdateThreadBody,
        example={"status": "waiting_for_trainer", "helper_group_id": "5"},
    ),
    "forum.list_threads": Op(
        "Threads the user may read: their own (is_mine=1) or a watched group's", ThreadListItem,
        query=schemas.ThreadsQuery, many=True, query_examples={"is_mine": "1", "limit": "20"},
    ),
    "forum.list_events": Op(
        "A thread's events in order, after a cursor", Event, query=schemas.EventsQuery, many=True
    ),
    "forum.record_task_event": Op(
        "Record an attempt, submission or grade (service token with the forum:events scope)", EventReply,
        status=201, errors=WRITE + BODY, body=schemas.TaskEventBody,
        example={"type": "submission", "attempt_id": "3", "answer_id": "12", "score": 80, "validated": False},
    ),
    "forum.list_messages": Op(
        "A thread's messages, newest first, before a cursor", Message, query=schemas.MessagesQuery, many=True
    ),
    "forum.post_message": Op(
        "Post a message; a retry with the same uuid returns the first result", MessageCreated,
        status=201, errors=WRITE + (409,) + BODY, body=schemas.PostMessageBody,
        example={"text": "Could you look at my second answer?", "uuid": "4f6c2a1e-message-1"},
        extra={"Idempotent-Replayed": {"description": "`true` when answering a retry", "schema": {"type": "string"}}},
    ),
    "forum.edit_message": Op(
        "Edit one's own message", MessageUpdated, errors=WRITE + (404, 409) + BODY, body=schemas.EditMessageBody,
        example={"text": "Could you look at my third answer?"},
    ),
    "forum.delete_message": Op("Delete a message (author or moderator)", MessageDeleted, errors=WRITE + (404, 409)),
    "forum.mark_read": Op("Mark the thread read up to its newest event", ReadMarkerReply, errors=WRITE),
    "forum.get_follow": Op("Whether the user follows the thread", FollowState),
    "forum.follow": Op("Follow the thread", FollowReply, errors=WRITE),
    "forum.unfollow": Op("Stop following the thread", FollowReply, errors=WRITE),
    "forum.list_notifications": Op(
        "The user's notifications, newest first", Notification, query=schemas.NotificationsQuery, many=True
    ),
    "forum.delete_notification": Op("Delete a notification", NotificationReply, errors=WRITE + (404,)),
    "forum.mark_notification_read": Op("Mark a notification read", NotificationReply, errors=WRITE + (404,)),
    "dm.get_me": Op("The caller's entry in the users directory", DmProfile, errors=READ + (404,), tag="dm"),
    "dm.put_me": Op(
        "Create or change the caller's handle and display name (the uuid is made once)", DmProfileReply,
        errors=WRITE + (409,) + BODY, body=dm_schemas.ProfileBody, tag="dm",
        example={"handle": "ann", "display_name": "Ann Archer"},
    ),
    "dm.list_groups": Op(
        "The caller's conversations, most recent activity first", DmGroup, query=dm_schemas.PageQuery,
        many=True, tag="dm",
    ),
    "dm.list_messages": Op(
        "A conversation's newest messages before a cursor, in chronological order (members only)", DmMessage,
        query=dm_schemas.PageQuery, many=True, errors=READ + (404,), tag="dm",
    ),
    "dm.send_in_group": Op(
        "Send a message in a conversation (members only)", DmMessageCreated, status=201,
        errors=WRITE + (404,) + BODY, body=dm_schemas.GroupMessageBody, tag="dm", example={"message": "Hello!"},
    ),
    "dm.send_to_handle": Op(
        "Send a message to a user by handle; the first one creates the conversation", DmMessageCreated,
        status=201, errors=WRITE + (404,) + BODY, body=dm_schemas.HandleMessageBody, tag="dm",
        example={"handle": "bob", "message": "Hello Bob!"},
    ),
    "dm.mark_read": Op("Mark a conversation read", DmReadReply, errors=WRITE + (404,), tag="dm"),
    "ops.index": Op("Where to go next: the docs, the API document, the websocket", Index, errors=(),
                    tag="operations", public=True),
    "ops.healthz": Op("The process is up", Health, errors=(), tag="operations", public=True),
    "ops.readyz": Op(
        "Every configured backend answers (503 with Retry-After when one does not)", Readiness,
        errors=(), tag="operations", public=True,
    ),
    "ops.prometheus_metrics": Op(
        "Prometheus metrics", None, errors=(), tag="operations", public=True, content_type="text/plain"
    ),
    "__flask_sock.forum_socket": Op(
        "Websocket for live thread events (upgrade only)", None, errors=(400, 426), tag="live", public=True,
        description="Open with a websocket client: the JWT comes as `?token=` or in a first `auth` frame. "
        "A plain HTTP request, without the upgrade, is answered 400.",
    ),
}

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "item_id": {"type": "string", "pattern": ID_PATTERN, "example": "10"},
    "participant_id": {"type": "string", "pattern": ID_PATTERN, "example": "7"},
    "uuid": {"type": "string", "minLength": 1, "maxLength": 64, "example": "4f6c2a1e-message-1"},
    "notification_id": {"type": "string", "minLength": 1},
    "group_uuid": {"type": "string", "example": "5ae290ed-55d1-47a0-bc6d-fe2bc2700399"},
}


# --- building the document -------------------------------------------------------------------


def _id_pattern(self, field_obj, **kwargs) -> dict:
    return {"pattern": ID_PATTERN} if isinstance(field_obj, schemas.Id) else {}


def _flag_values(self, field_obj, **kwargs) -> dict:
    return {"enum": ["0", "1", "false", "true"]} if isinstance(field_obj, schemas.Flag) else {}


def documented_rules(app: Flask):
    """The routes the document must describe, with their methods (HEAD and OPTIONS are implicit)."""
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if rule.endpoint in UNDOCUMENTED_ENDPOINTS or blueprint in UNDOCUMENTED_BLUEPRINTS:
            continue
        yield rule, sorted(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def build_spec(app: Flask) -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Parley",
        version="0.1.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={
            "description": "Discussion threads on a learner's work, with live delivery over websockets. "
            "Ids are positive 64-bit integers written as decimal strings. Writes answer "
            "`{success, message, data}`; errors `{success: false, message, error: {code, details}}`.",
        },
    )
    plugin.converter.add_attribute_function(_id_pattern)
    plugin.converter.add_attribute_function(_flag_values)
    spec.components.schema("ErrorEnvelope", schema=ErrorEnvelope)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme(
        "devUser",
        {"type": "apiKey", "in": "header", "name": "X-Parley-User",
         "description": "development profile only: the acting user's id"},
    )
    paths: dict[str, dict[str, Any]] = {}
    for rule, methods in documented_rules(app):
        op = OPERATIONS.get(rule.endpoint)
        if op is None:
            continue
        path = openapi_path(rule.rule)
        for method in methods:
            paths.setdefault(path, {})[method.lower()] = _operation(rule.endpoint, rule.arguments, op)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    _add_query_examples(document)
    return document


def _add_query_examples(document: dict[str, Any]) -> None:
    """apispec expands a query schema into parameters; examples are set on them afterwards."""
    for operations in document["paths"].values():
        for operation in operations.values():
            op = OPERATIONS[_endpoint_of(operation["operationId"])]
            for parameter in operation["parameters"]:
                if parameter["in"] == "query" and parameter["name"] in op.query_examples:
                    parameter["example"] = op.query_examples[parameter["name"]]


def _operation_id(endpoint: str) -> str:
    return endpoint.replace("__flask_sock.", "ws.").replace(".", "_")


def _endpoint_of(operation_id: str) -> str:
    return next(e for e in OPERATIONS if _operation_id(e) == operation_id)


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def _operation(endpoint: str, arguments, op: Op) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": PATH_PARAMETERS.get(name, {"type": "string"})}
        for name in sorted(arguments)
    ]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    operation: dict[str, Any] = {
        "operationId": _operation_id(endpoint),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": {str(op.status): _success(op)},
    }
    if op.description:
        operation["description"] = op.description
    if op.public:
        operation["security"] = []
    else:
        operation["security"] = [{"bearer": []}, {"devUser": []}]
    if op.body is not None:
        media: dict[str, Any] = {"schema": op.body}
        if op.example is not None:
            media["example"] = op.example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    if endpoint == "ops.readyz":
        operation["responses"]["503"] = {
            "description": "A backend is down", "headers": RETRY_AFTER,
            "content": {"application/json": {"schema": Readiness}},
        }
    if endpoint == "__flask_sock.forum_socket":
        operation["responses"]["101"] = {"description": "Switching to the websocket protocol"}
    for status in op.errors:
        operation["responses"][str(status)] = _error(status)
    return operation


def _success(op: Op) -> dict[str, Any]:
    response: dict[str, Any] = {"description": op.summary, "headers": {**REQUEST_ID, **op.extra}}
    if op.content_type == "text/plain":
        response["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif op.ok is not None:
        schema: Any = {"type": "array", "items": op.ok} if op.many else op.ok
        response["content"] = {"application/json": {"schema": schema}}
    return response


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_TEXT[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def spec_for(app: Flask) -> dict[str, Any]:
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = build_spec(app)
    return app.extensions[EXTENSION]


# --- serving it ------------------------------------------------------------------------------

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
  </script>
</body>
</html>
"""


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(spec_for(current_app))


@bp.get("/docs")
def docs():
    return DOCS_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str):
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, filename, max_age=86400)
