"""`{sls}/forum/thread/{itemId}/{participantId}/messages` and `…/follows`."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from application.forum import follows, messages
from domain.shared import InvalidRequest
from entrypoints.http.forum.blueprint import forum_deps
from entrypoints.http.sls import shapes
from entrypoints.http.sls.blueprint import bp
from entrypoints.http.sls.credentials import identity_token, route_thread, thread_token_for

THREAD = "/forum/thread/<item_id>/<participant_id>"
DEFAULT_LIMIT, MAX_LIMIT = 10, 20


def created():
    return reply_json({"message": "created", "success": True}, 201)


def deleted():
    return reply_json({"message": "deleted", "success": True}, 200)


def reply_json(body: Any, status: int):
    response = jsonify(body)
    response.status_code = status
    return response


@bp.get(THREAD + "/messages")
def list_messages(item_id: str, participant_id: str):
    """The newest messages first, `limit` of them (10 unless asked, at most 20)."""
    actor, key = thread_token_for(item_id, participant_id)
    limit = _limit(request.args.get("limit"))
    found = messages.list_messages(forum_deps(), actor, key, None, limit)
    return reply_json([e for e in (shapes.message_entry(m.to_public()) for m in found) if e is not None], 200)


@bp.post(THREAD + "/messages")
def post_message(item_id: str, participant_id: str):
    """Post `{text, uuid}` (idempotent on the uuid, as Parley's own POST); needs `can_write`."""
    actor, key = thread_token_for(item_id, participant_id)
    body = _json_object()
    text, uuid = body.get("text"), body.get("uuid")
    missing = [name for name, value in (("text", text), ("uuid", uuid)) if not isinstance(value, str)]
    if missing:
        raise InvalidRequest("invalid body", {name: ["required, a string"] for name in missing})
    messages.post_message(forum_deps(), actor, key, text, uuid)
    return created()


@bp.get(THREAD + "/follows")
def follow_status(item_id: str, participant_id: str):
    state = follows.own_follow(forum_deps(), identity_token(), route_thread(item_id, participant_id))
    return reply_json({"isFollowing": state.following}, 200)


@bp.post(THREAD + "/follows")
def follow(item_id: str, participant_id: str):
    actor, key = thread_token_for(item_id, participant_id)
    follows.follow_thread(forum_deps(), actor, key)
    return created()


@bp.delete(THREAD + "/follows")
def unfollow(item_id: str, participant_id: str):
    follows.unfollow_own(forum_deps(), identity_token(), route_thread(item_id, participant_id))
    return deleted()


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest("invalid limit", {"limit": [f"an integer from 1 to {MAX_LIMIT}"]})
    return int(raw)


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", {"body": ['{"text": …, "uuid": …}']})
    return body

