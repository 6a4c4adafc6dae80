"""AlgoREA's serverless websocket beside Parley's own (DESIGN.md §4.2): its actions are entries of
the same action table, on the same topics, subscriptions, leases, re-checks and writer; only the
frames differ (docs/algorea.md, "Serverless forum API and websocket").

- The socket lives at PARLEY_ALGOREA_WS_PATH (`/sls/ws`) and opens with `?token=<identity token>`
  (a user credential); without a good one the upgrade is refused with a 401, as API Gateway's
  `$connect` does. It sends no greeting.
- `{"action": "forum.subscribe", "token": <thread token>, "since"?: <epoch ms>}` subscribes to the
  thread's `forum.thread` topic with the thread token's rights (and until its `exp`). Live events
  come as AlgoREA's pushes (`forum.message.new`, `forum.submission.new`, `forum.grade.update`).
  With `since` (the time of the last message the client saw) what it missed is pushed first, once:
  registering live before reading and the cursor dedupe are the protocol's own. Subscribing again
  to a thread already subscribed only takes the new token's rights.
- `{"action": "forum.unsubscribe", "token": …}`, `{"action": "heartbeat"}` (keeps proxies from
  closing an idle socket; nothing is answered, as in AlgoREA).
- The user's own topic brings `notification.new` for followers who are not watching.
- Nothing is answered on success, as AlgoREA's serverless; a refused frame gets
  `{"action": "error", "request": <action>, "code", "message"}`, which AlgoREA's front end ignores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from dependency_injector.wiring import Provide, Provider, inject
from flask import Blueprint, g, request

from application.delivery.subscriptions import SubscriptionStore
from application.delivery.topics import user_topic
from application.forum.deps import ForumDeps
from application.forum.subscribing import position_seen_at
from application.forum.topics import THREAD_FAMILY
from application.shared import Actor, Authenticator, Clock, Publication, Unauthenticated
from domain.forum.model import ThreadKey
from domain.shared import DomainError, Forbidden
from entrypoints.http.sls import shapes
from entrypoints.http.sls.errors import reply
from entrypoints.ws import sock
from entrypoints.ws.connection import Connection, Subscription
from entrypoints.ws.endpoint import run_socket
from entrypoints.ws.protocol import HANDLERS, Refused, Session, admit_subscribe, subscribe_to
from entrypoints.ws.topics import BadFrame

# Named like flask-sock's own blueprint: rate limits and the like leave websocket routes alone.
bp = Blueprint("__flask_sock_algorea", __name__)
SUBSCRIBE, UNSUBSCRIBE, HEARTBEAT = "forum.subscribe", "forum.unsubscribe", "heartbeat"
MAX_SINCE_MS = 10**13  # epoch ms of year 2286: no message is newer


@bp.before_request
@inject
def refuse_without_identity(authenticator: Authenticator = Provide["core.authenticator"]):
    """The identity token comes as ?token= (browsers cannot set headers on a websocket)."""
    token = request.args.get("token")
    if not token:
        return reply(401, "authentication error", "Unauthorized: missing token")
    try:
        actor = authenticator.authenticate({"Authorization": f"Bearer {token}"})
    except Unauthenticated as err:
        return reply(401, "authentication error", f"Unauthorized: {err.message}")
    if not actor.speaks_for_user:
        return reply(401, "authentication error", "Unauthorized: the socket opens with an identity token")
    g.algorea_actor = actor
    return None


@sock.route("", bp=bp)
@inject
def algorea_socket(
    ws,
    hub: Any = Provide["core.hub"],
    subscriptions: SubscriptionStore = Provide["core.subscription_store"],
    clock: Clock = Provide["core.clock"],
    session_guard: Any = Provider["sessions.guard"],
):
    run_socket(ws, g.algorea_actor, hub, subscriptions, clock, session_guard, None, forward_notifications)


class AlgoreaSubscription(Subscription):
    """A thread subscription whose frames are AlgoREA's pushes; other events are not sent."""

    shares_frames = False  # its frames are its own, not the publication's

    def render(self, publication: Publication) -> str | None:
        event = publication.payload.get("event")
        return push_frame(event) if isinstance(event, dict) else None

    def render_event(self, event: dict[str, Any]) -> str | None:
        return push_frame(event)


# The last push rendered, reused while the hub hands the same publication to each subscriber: each
# event is encoded once, however many AlgoREA sockets watch its thread.
_last_push: tuple[Any, str | None] = (None, None)


def push_frame(event: dict[str, Any]) -> str | None:
    global _last_push
    seen, text = _last_push
    if seen is event:
        return text
    push = shapes.push_of(event)
    text = None if push is None else json.dumps(push, separators=(",", ":"))
    _last_push = (event, text)
    return text


def send_missed(conn: Connection, frame_id: Any, pages: Iterable[list[dict[str, Any]]], since, family) -> list[str]:
    """What a subscriber missed, as pushes (no `subscribed` reply: AlgoREA's clients expect none)."""
    cursors: list[str] = []
    for events in pages:
        for event in events:
            cursors.append(event["cursor"])
            text = push_frame(event)
            if text is not None:
                conn.enqueue(text)
    return cursors


class LiveOnly:
    """The thread topic for AlgoREA's subscribers: no history unless asked with `since` (the front
    end reads it over HTTP when it opens a thread)."""

    def __init__(self, spec: Any):
        self._spec = spec

    def newest(self, key: ThreadKey) -> list[dict[str, Any]]:
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spec, name)


def handle_subscribe(session: Session, frame: dict[str, Any]) -> None:
    if not admit_subscribe(session, frame.get("id")):
        return
    actor, key = thread_of(session, frame)
    since = since_of(frame)
    spec = LiveOnly(session.topics.spec_for({"topic": THREAD_FAMILY}))
    existing = session.conn.subscriptions.get(spec.topic(key).name)
    if isinstance(existing, AlgoreaSubscription):
        spec.authorize(actor, key)  # the new token must be good for the thread too
        existing.actor = actor  # its rights and its exp from now on; nothing was missed meanwhile
        return
    cursor = None if since is None else position_seen_at(_forum(), key, since)
    subscribe_to(session, spec, key, frame.get("id"), cursor, actor=actor,
                 make_subscription=AlgoreaSubscription, send_history=send_missed)


def handle_unsubscribe(session: Session, frame: dict[str, Any]) -> None:
    _, key = thread_of(session, frame)
    spec = session.topics.spec_for({"topic": THREAD_FAMILY})
    session.conn.remove(spec.topic(key).name)


def handle_heartbeat(session: Session, frame: dict[str, Any]) -> None:
    """Only keeps the socket busy; the reader loop renews the subscriptions on every frame."""


@inject
def _thread_tokens(authenticator: Authenticator = Provide["core.authenticator"]) -> Authenticator:
    return authenticator


@inject
def _forum(forum: ForumDeps = Provide["forum.deps"]) -> ForumDeps:
    return forum


def thread_of(session: Session, frame: dict[str, Any]) -> tuple[Actor, ThreadKey]:
    """The frame's thread token, verified: its thread, and its holder, who must be the socket's user."""
    token = frame.get("token")
    if not isinstance(token, str) or not token:
        raise Refused("unauthenticated", "the frame needs the thread's token")
    try:
        actor = _thread_tokens().authenticate({"Authorization": f"Bearer {token}"})
    except Unauthenticated as err:
        raise Refused("unauthenticated", err.message) from None
    claims = actor.thread_claims
    if claims is None:
        raise Refused("unauthenticated", "not a thread token")
    if actor.user_id != session.conn.actor.user_id:
        raise Forbidden("the thread token is another user's")
    return actor, ThreadKey(claims.item_id, claims.participant_id)


def since_of(frame: dict[str, Any]) -> int | None:
    raw = frame.get("since")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise BadFrame("since must be the epoch ms of the last message seen", frame.get("id"))
    if not 0 <= raw < MAX_SINCE_MS:
        raise BadFrame("since must be the epoch ms of the last message seen", frame.get("id"))
    return int(raw)


def forward_notifications(conn: Connection, hub: Any):
    """A follower's `notification.new`, in AlgoREA's shape, on the user's own topic."""

    def forward(publication: Publication) -> None:
        public = publication.payload.get("notification")
        shaped = shapes.notification_of(public) if isinstance(public, dict) else None
        if shaped is not None:
            conn.send({"action": shapes.NEW_NOTIFICATION, "notification": shaped})

    return hub.subscribe(user_topic(conn.actor.user_id).name, forward)


def error_frame(action: str, code: str, message: str) -> dict[str, Any]:
    return {"action": "error", "request": action, "code": code, "message": message}


def _guarded(action: str, handler):
    """AlgoREA's frames have no id: refusals are answered in AlgoREA's own shape instead."""

    def run(session: Session, frame: dict[str, Any]) -> None:
        try:
            handler(session, frame)
        except BadFrame as err:
            session.conn.send(error_frame(action, "bad_request", str(err)))
        except Refused as err:
            session.conn.send(error_frame(action, err.code, err.message))
        except DomainError as err:
            code = "forbidden" if isinstance(err, Forbidden) else getattr(err, "code", "bad_request")
            session.conn.send(error_frame(action, code, err.message))

    return run


HANDLERS.update({
    SUBSCRIBE: _guarded(SUBSCRIBE, handle_subscribe),
    UNSUBSCRIBE: _guarded(UNSUBSCRIBE, handle_unsubscribe),
    HEARTBEAT: handle_heartbeat,
})
