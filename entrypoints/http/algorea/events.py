"""AlgoREA's backend events, as EventBridge delivers them (an API destination's POST of the whole
event): `{"version", "id", "detail-type", "source", "time", "detail": {"version", "type",
"source_app", "instance", "time", "request_id", "payload": {…}}}` (AlgoreaServerless,
src/utils/lambda-eventbus-server). Each kind becomes the forum use case it stands for, with the
envelope's `id` claimed in the same transaction, so a repeated delivery changes nothing:

- thread_status_changed → threads.apply_status_change (the status, its events, the follows);
- submission_created → a `submission` event; grade_saved → a `grade_updated` event (with `validated`)
  (history.record_task_event, as the forum's own service-to-service events).

Other kinds, and versions above the one understood (major 1), are acknowledged and ignored, as
AlgoREA's serverless does, so that EventBridge does not retry them forever.
"""

from __future__ import annotations

import hmac

from flask import g, request
from marshmallow import ValidationError

from application.forum import history, threads
from application.forum.history import TASK_EVENTS_SCOPE
from application.shared import Actor, Unauthenticated
from domain.forum import events as ev
from domain.forum.model import ThreadKey, ThreadStatus
from entrypoints.http.algorea import schemas
from entrypoints.http.algorea.blueprint import events_bp, events_token
from entrypoints.http.algorea.errors import invalid_input
from entrypoints.http.common import current_actor
from entrypoints.http.forum.blueprint import forum_deps

SUPPORTED_MAJOR_VERSION = 1
EVENTS_CREDENTIALS = [{"algoreaEvents": []}, {"bearer": []}]


def events_actor() -> Actor:
    """The sender: PARLEY_ALGOREA_EVENTS_TOKEN as a bearer token, or a Parley service token (its
    `forum:events` scope is checked by the use cases, like every other credential's)."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise Unauthenticated("no access token provided")
    configured = events_token()
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if configured and given and hmac.compare_digest(given.encode(), configured.encode()):
        return Actor(None, frozenset({TASK_EVENTS_SCOPE}))
    return current_actor()


@events_bp.before_request
def authenticate_sender() -> None:
    """Before the body is read: who may not send events learns nothing of their body's faults."""
    g.actor = events_actor()
    history.require_service(g.actor)


@events_bp.post("/events")
@events_bp.arguments(schemas.AlgoreaEventEnvelope, example={
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "submission_created",
    "source": "algorea.backend", "time": "2026-12-02T01:00:00Z",
    "detail": {"version": "1.0", "type": "submission_created", "source_app": "algoreabackend",
               "instance": "prod", "time": "2026-12-02T01:00:00Z", "request_id": "r-1",
               "payload": {"answer_id": "12", "attempt_id": "0", "author_id": "2", "item_id": "100",
                           "participant_id": "2"}},
})
@events_bp.response(200, schemas.AlgoreaEventApplied)
@events_bp.doc(security=EVENTS_CREDENTIALS)
@events_bp.errors(400, 401, 403, 413, 415, 429, 503)
def receive_event(envelope: dict):
    """Apply one AlgoREA backend event (EventBridge envelope); a repeated id changes nothing"""
    actor = g.actor
    kind, detail = envelope["detail_type"], envelope["detail"]
    if kind not in schemas.PAYLOADS or _major(detail["version"]) > SUPPORTED_MAJOR_VERSION:
        return _reply("ignored", envelope["id"], False)
    try:
        payload = schemas.PAYLOADS[kind]().load(detail["payload"])
    except ValidationError as err:
        raise invalid_input({f"detail.payload.{k}": schemas_messages(v) for k, v in err.messages.items()}) from None
    applied = APPLY[kind](actor, payload, envelope["id"])
    return _reply("applied" if applied else "already applied", envelope["id"], applied)


def schemas_messages(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


def _reply(message: str, event_id: str, applied: bool) -> dict:
    return {"success": True, "message": message, "data": {"id": event_id, "applied": applied}}


def _status_changed(actor: Actor, p: dict, event_id: str) -> bool:
    key = ThreadKey(p["item_id"], p["participant_id"])
    status = ThreadStatus(p["new_status"])
    return threads.apply_status_change(
        forum_deps(), actor, key, status, p["helper_group_id"], p["updated_by"], received_id=event_id
    )


def _submission_created(actor: Actor, p: dict, event_id: str) -> bool:
    forum = forum_deps()
    key = ThreadKey(p["item_id"], p["participant_id"])
    event = ev.submission(key, p["attempt_id"], p["answer_id"], forum.now())
    return history.record_task_event(forum, actor, event, received_id=event_id) is not None


def _grade_saved(actor: Actor, p: dict, event_id: str) -> bool:
    forum = forum_deps()
    key = ThreadKey(p["item_id"], p["participant_id"])
    event = ev.grade_updated(key, p["attempt_id"], p["answer_id"], p["score"], forum.now(), p["validated"])
    return history.record_task_event(forum, actor, event, received_id=event_id) is not None


APPLY = {"thread_status_changed": _status_changed, "submission_created": _submission_created,
         "grade_saved": _grade_saved}
