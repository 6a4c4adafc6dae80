"""The serverless surface in the OpenAPI document: a plain blueprint (AlgoREA's shapes), so its
operations are written here, each error described with its AlgoREA body (docs/algorea.md)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from entrypoints.http.blueprint import RETRY_AFTER, error_response_doc

TAG = "algorea serverless"
BLUEPRINT, WS_BLUEPRINT = "sls.", "__flask_sock_algorea."
ERRORS = {
    "400": '`{"message": "decoding error", "details"}`: a malformed id, limit, sk or body',
    "401": '`{"message": "authentication error", "details"}`: no credential, or not the kind this route takes',
    "403": '`{"message": "forbidden", "details"}`: a thread token for another thread, no can_write, a thread not open',
    "404": "no such route (a path segment that is empty or holds a slash)",
    "405": "a method the path has not",
    "429": "too many requests by this user (Parley's rate limits)",
    "503": '`{"message": "service unavailable"}`: a backend is down',
}
THREAD_TOKEN = "AlgoREA's thread token (or Parley's) for this very thread"
IDENTITY_TOKEN = "AlgoREA's identity token (or another user credential)"
SUCCESS = {
    ("list_messages", "get"): ("The newest messages first: [{time, authorId, text, uuid}]", "200", THREAD_TOKEN),
    ("post_message", "post"): ('Post {"text", "uuid"}: {"message": "created", "success": true}', "201", THREAD_TOKEN),
    ("follow_status", "get"): ('Whether the user follows the thread: {"isFollowing": bool}', "200", IDENTITY_TOKEN),
    ("follow", "post"): ("Follow the thread", "201", THREAD_TOKEN),
    ("unfollow", "delete"): ("Stop following the thread", "200", IDENTITY_TOKEN),
    ("list_notifications", "get"): ("The user's newest 20 notifications: {notifications: [...]}", "200",
                                    IDENTITY_TOKEN),
    ("delete_notification", "delete"): ("Delete a notification by its sk, or all of them", "200", IDENTITY_TOKEN),
}


def document(spec: Any, app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(BLUEPRINT):
            name = rule.endpoint.removeprefix(BLUEPRINT)
            operations = {m.lower(): _operation(name, m.lower())
                          for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
            spec.path(rule=rule, operations=operations)
        elif rule.endpoint.startswith(WS_BLUEPRINT):
            spec.path(rule=rule, operations={"get": _websocket()})


def _operation(name: str, method: str) -> dict[str, Any]:
    summary, status, credential = SUCCESS[(name, method)]
    responses: dict[str, Any] = {status: {"description": summary}}
    for code, text in ERRORS.items():
        responses[code] = {"description": text}
    for code in ("429", "503"):
        responses[code]["headers"] = RETRY_AFTER
    if method == "post":
        responses["413"] = {"description": "a body over 64 KiB"}
    parameters = []
    if name == "list_messages":
        parameters.append({"name": "limit", "in": "query", "required": False,
                           "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 10}})
    if method == "post" and name == "post_message":
        body = {"type": "object", "required": ["text", "uuid"],
                "properties": {"text": {"type": "string"}, "uuid": {"type": "string"}}}
        extra = {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}
    else:
        extra = {}
    return {
        "parameters": parameters,
        **extra,
        "operationId": f"sls_{name}",
        "summary": summary,
        "description": f"Credential: {credential}, as `Authorization: Bearer …`.",
        "tags": [TAG],
        "security": [{"bearer": []}],
        "responses": responses,
    }


def _websocket() -> dict[str, Any]:
    return {
        "operationId": "ws_algorea_socket",
        "summary": "AlgoREA's serverless websocket (upgrade only)",
        "description": "Open with `?token=<identity token>`; frames `forum.subscribe` (with `since`), "
        "`forum.unsubscribe`, `heartbeat`; pushes `forum.message.new`, `forum.submission.new`, "
        "`forum.grade.update`, `notification.new` (docs/algorea.md).",
        "tags": [TAG],
        "security": [],
        "responses": {"101": {"description": "Switching to the websocket protocol"},
                      "400": error_response_doc(400), "426": error_response_doc(426),
                      "401": {"description": '`{"message": "authentication error"}`: no identity token'}},
    }
