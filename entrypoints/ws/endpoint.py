"""The `/ws` route: authenticate, then read frames until the client goes away."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from typing import Any

from dependency_injector.wiring import Provide, inject
from flask import request

from application.delivery.topics import user_topic as inbox_topic
from application.forum.deps import ForumDeps
from application.forum.topics import user_topic
from application.shared import Authenticator, Unauthenticated
from entrypoints.metrics import WS_OPEN
from entrypoints.ws import sock
from entrypoints.ws.connection import Connection
from entrypoints.ws.protocol import MAX_FRAME_CHARS, BadFrame, Session, dispatch, error_frame

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
AUTH_FRAME_WAIT_SECONDS = 10
IDLE_CHECK_SECONDS = 30
RECHECK_SECONDS = 5 * 60


@sock.route("/ws")
@inject
def forum_socket(
    ws,
    forum: ForumDeps = Provide["forum"],
    hub: Any = Provide["hub"],
    authenticator: Authenticator = Provide["authenticator"],
):
    try:
        actor = _authenticate(ws, authenticator)
    except Unauthenticated as err:
        # Before any writer exists, so the error frame and the close go out in order from here.
        ws.send(json.dumps(error_frame(None, "unauthenticated", err.message)))
        ws.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
        _end_dev_server_connection()
        return
    conn = Connection(ws)
    conn.actor = actor
    conn.send({"type": "ready", "user_id": None if actor.user_id is None else str(actor.user_id)})
    session = Session(conn, forum, hub)
    stop_notifications = _listen_to_own_topic(conn, hub)
    WS_OPEN.inc()
    try:
        _serve(ws, session)
    finally:
        WS_OPEN.dec()
        stop_notifications()
        conn.close(flush=False)
        conn.wait_flushed(timeout=2)
        _end_dev_server_connection()


def _end_dev_server_connection() -> None:
    """Werkzeug's development server writes an HTTP response after a websocket handler returns,
    which a client reads as garbage after the close frame; shutting the socket first prevents it.
    (gunicorn, the production server, needs nothing of the kind.)"""
    raw = request.environ.get("werkzeug.socket")
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)


# What a user's own channels carry for clients: forum notifications, new timeline entries.
OWN_TOPIC_PAYLOADS = frozenset({"notification", "timeline_entry"})


def _listen_to_own_topic(conn: Connection, hub: Any):
    """A user's own topics carry their notifications (`notification.new`) and new entries of their
    social timeline (`social.timeline`, published to application.delivery's user channel)."""
    if conn.actor.user_id is None:
        return lambda: None

    def forward(publication) -> None:
        # Internal signals (a resync after a fan-out blip) are not for clients; what a client missed
        # is in the stores (GET /forum/notifications, GET /social/timeline).
        if OWN_TOPIC_PAYLOADS & publication.payload.keys():
            conn.enqueue(publication.frame())

    stops = [hub.subscribe(t, forward) for t in (user_topic(conn.actor.user_id), inbox_topic(conn.actor.user_id).name)]
    return lambda: [stop() for stop in stops]


def _serve(ws, session: Session) -> None:
    conn = session.conn
    rechecked_at = time.monotonic()
    while not conn.closed:
        raw = ws.receive(timeout=IDLE_CHECK_SECONDS)
        if _credential_expired(session):
            conn.send(error_frame(None, "unauthenticated", "the token has expired"))
            conn.close(CLOSE_UNAUTHENTICATED, "token expired")
            return
        for sub in conn.drop_expired():
            conn.send({"type": "expired", "id": sub.id})
        if time.monotonic() - rechecked_at > RECHECK_SECONDS:
            # Rights also end without an event: the two weeks after a close run out, grants change.
            rechecked_at = time.monotonic()
            for sub in list(conn.subscriptions.values()):
                conn.enqueue_call(sub.recheck)
        if raw is None:
            continue
        conn.renew_all()
        try:
            frame = _parse(raw)
        except BadFrame as err:
            conn.send(error_frame(None, "bad_request", str(err)))
            continue
        dispatch(session, frame)


def _credential_expired(session: Session) -> bool:
    claims = getattr(session.conn.actor, "thread_claims", None)
    return claims is not None and claims.expires_at <= session.forum.now()


def _parse(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes) or len(raw) > MAX_FRAME_CHARS:
        raise BadFrame("frames are JSON text of at most 16 KiB")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadFrame("frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise BadFrame("frame must be a JSON object")
    return frame


def _authenticate(ws, authenticator: Authenticator):
    """The token comes as ?token= (browsers cannot set headers on a websocket) or a first auth frame."""
    token = request.args.get("token")
    dev_user = request.args.get("user")
    if token is None and dev_user is None:
        token = _auth_frame_token(ws)
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if dev_user is not None:
        headers["X-Parley-User"] = dev_user
    return authenticator.authenticate(headers)


def _auth_frame_token(ws) -> str:
    raw = ws.receive(timeout=AUTH_FRAME_WAIT_SECONDS)
    try:
        frame = _parse(raw) if raw is not None else {}
    except BadFrame:
        frame = {}
    token = frame.get("token") if frame.get("action") == "auth" else None
    if not isinstance(token, str):
        raise Unauthenticated("send ?token= or a first frame {\"action\": \"auth\", \"token\": …}")
    return token
