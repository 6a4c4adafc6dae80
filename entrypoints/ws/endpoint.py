"""The `/ws` route: authenticate, then read frames until the client goes away."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from dependency_injector.wiring import Provide, Provider, inject
from flask import request

from application.delivery.subscriptions import SubscriptionStore
from application.delivery.topics import user_topic
from application.forum.topics import ACCESS_RECHECK_TOPIC
from application.shared import Authenticator, Clock, Unauthenticated
from entrypoints.metrics import WS_OPEN
from entrypoints.ws import restart, sock
from entrypoints.ws.connection import LEASE_RENEW_SECONDS, Connection
from entrypoints.ws.protocol import MAX_FRAME_CHARS, BadFrame, Session, dispatch, error_frame
from entrypoints.ws.topics import TopicRegistry, registered_topics
from entrypoints.ws.wire import SEND_STALL_SECONDS, let_others_run

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
AUTH_FRAME_WAIT_SECONDS = 10
IDLE_CHECK_SECONDS = 30
# The bound on how long a reader whose grants were taken away outside Parley (no re-check
# published) may keep receiving a thread's events (docs/configuration-auth.md).
RECHECK_SECONDS = 30
# The shortest wait for a frame: the loop wakes at the credential's exp, not a busy loop before it.
MIN_WAIT_SECONDS = 0.05
# How long a closing socket's handler waits for its writer (one frame, then the close frame).
CLOSE_WAIT_SECONDS = SEND_STALL_SECONDS + 5


@sock.route("/ws")
@inject
def forum_socket(
    ws,
    hub: Any = Provide["core.hub"],
    authenticator: Authenticator = Provide["core.authenticator"],
    subscriptions: SubscriptionStore = Provide["core.subscription_store"],
    clock: Clock = Provide["core.clock"],
    session_guard: Any = Provider["sessions.guard"],
):
    try:
        actor = _authenticate(ws, authenticator)
    except Unauthenticated as err:
        # Before any writer exists, so the error frame and the close go out in order from here.
        ws.send(json.dumps(error_frame(None, "unauthenticated", err.message)))
        ws.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
        _end_dev_server_connection()
        return
    ready = {"type": "ready", "user_id": None if actor.user_id is None else str(actor.user_id)}
    run_socket(ws, actor, hub, subscriptions, clock, session_guard, ready, _listen_to_own_topic)


def run_socket(ws, actor, hub, subscriptions, clock, session_guard, ready: dict | None, own_topic) -> None:
    """An authenticated socket's life, whichever protocol greets it (`ready`, None: no greeting) and
    forwards its user's own topic (`own_topic(conn, hub)`): frames until it ends, then the cleanup."""
    conn = Connection(ws)
    conn.actor = actor
    if ready is not None:
        conn.send(ready)
    # Each socket's registry builds a family's spec when it first subscribes to it, from the
    # container this app was wired to.
    session = Session(conn, TopicRegistry(registered_topics()), hub, subscriptions, clock)
    stop_notifications = own_topic(conn, hub)
    stop_rechecks = listen_for_access_rechecks(conn, hub)
    stop_session_watch = close_when_session_ends(conn, session_guard)
    untrack = restart.track(conn)  # a draining server closes it with 1012

    def live() -> None:
        """The socket's life after its handshake, which needs nothing of the HTTP request."""
        WS_OPEN.inc()
        try:
            serve(ws, session)
        finally:
            WS_OPEN.dec()
            untrack()
            stop_session_watch()
            stop_rechecks()
            stop_notifications()
            conn.close(flush=False)
            # Whatever the writer is doing: no listener and no stored row outlives the socket's reader.
            conn.remove_all()
            # The writer finishes the frame it is writing, then the close frame (4408 for a slow
            # client); a client that takes nothing for SEND_STALL_SECONDS has its socket shut by then.
            conn.wait_flushed(timeout=CLOSE_WAIT_SECONDS)
            if conn.writer_alive:
                ws.wire.abort()  # a client still trickling in the frame: end the write

    # Under gunicorn the request's greenlet (its deep stack, the request and its headers) ends here
    # and the socket lives on in a greenlet of its own (entrypoints/ws/server.py).
    if not ws.live_on_after_request(live):
        _end_dev_server_connection()


def _end_dev_server_connection() -> None:
    """Werkzeug's development server writes an HTTP response after a websocket handler returns,
    which a client reads as garbage after the close frame; shutting the socket first prevents it.
    (gunicorn, the production server, needs nothing of the kind.)"""
    raw = request.environ.get("werkzeug.socket")
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)


# What a user's own channels carry for clients: forum notifications, new timeline entries, new
# direct messages (`dm.message`: the message and the member's summary of its group).
OWN_TOPIC_PAYLOADS = frozenset({"notification", "timeline_entry", "message"})


def _listen_to_own_topic(conn: Connection, hub: Any):
    """A user's own topics carry their notifications (`notification.new`) and new entries of their
    social timeline (`social.timeline`, on application.delivery's user channel), for user
    credentials only: a thread token speaks for its one thread."""
    if not conn.actor.speaks_for_user:
        return lambda: None

    def forward(publication) -> None:
        # Internal signals (a resync after a fan-out blip) are not for clients; what a client missed
        # is in the stores (GET /forum/notifications, GET /social/timeline). A live room's frames for
        # this user alone (the owner's attempts, a participant's result) come this way too.
        if OWN_TOPIC_PAYLOADS & publication.payload.keys() or publication.payload.get("topic") == "live.room":
            conn.enqueue(publication.frame())

    return hub.subscribe(user_topic(conn.actor.user_id).name, forward)


def close_when_session_ends(conn: Connection, guard_provider: Any):
    """A session-bound token's socket closes with 4401 once its session ends: at the `sessions.ended`
    publication from any process, or the validity cache's sweep if that was lost (docs/sessions.md)."""
    session_id = conn.actor.session_id
    if session_id is None:
        return lambda: None

    def ended() -> None:
        conn.send(error_frame(None, "unauthenticated", "the session has ended"))
        conn.close(CLOSE_UNAUTHENTICATED, "session ended")

    guard = guard_provider()
    unwatch = guard.watch(session_id, ended)
    if not guard.is_live(session_id):  # ended between the handshake and the watch
        ended()
    return unwatch


def listen_for_access_rechecks(conn: Connection, hub: Any):
    """Grants changed (published by `parley grants import` or `parley grants recheck`): re-check
    every subscription now. A resync (the fan-out reconnected) may have lost such a publication."""

    def recheck(publication) -> None:
        if publication.payload.get("access_check") or publication.payload.get("resync"):
            conn.recheck_access()

    return hub.subscribe(ACCESS_RECHECK_TOPIC, recheck)


def serve(ws, session: Session) -> None:
    """Read frames until the client goes away, the credential expires (4401 at its exp) or the
    connection closes; re-check every subscription's access at least every RECHECK_SECONDS."""
    conn, clock = session.conn, session.clock
    # The first re-check at a random point of the interval: sockets opened together (a server
    # restart) then do not all ask the grants at the same moment every 30 s.
    leased_at = time.monotonic()
    recheck_at = clock.now() + timedelta(seconds=random.uniform(RECHECK_SECONDS / 2, RECHECK_SECONDS))
    while not conn.closed:
        raw = ws.receive(timeout=_wait_seconds(session, recheck_at))
        if time.monotonic() - leased_at >= LEASE_RENEW_SECONDS:
            leased_at = time.monotonic()
            conn.renew_leases()
        if _credential_expired(session):
            conn.send(error_frame(None, "unauthenticated", "the token has expired"))
            conn.close(CLOSE_UNAUTHENTICATED, "token expired")
            return
        for sub in conn.drop_expired():
            conn.send({"type": "expired", "id": sub.id})
        if clock.now() >= recheck_at:
            # Rights also end without an event: the two weeks after a close run out, grants change.
            recheck_at = clock.now() + timedelta(seconds=RECHECK_SECONDS)
            conn.recheck_access()
        if raw is None:
            continue
        conn.renew_all()
        try:
            frame = _parse(raw)
        except BadFrame as err:
            conn.send(error_frame(None, "bad_request", str(err)))
            continue
        dispatch(session, frame)
        raw = frame = None  # an idle socket keeps no copy of its last frame while it waits
        # Frames read in one go are served one by one with the writers in between: the replies
        # already queued go out (a burst of subscribes is not one outbox overflow), and one socket's
        # burst does not hold up the worker's other sockets.
        let_others_run()


def _wait_seconds(session: Session, recheck_at: datetime) -> float:
    """Until the next thing due: the idle check, the periodic re-check, or the credential's exp."""
    now = session.clock.now()
    due = [IDLE_CHECK_SECONDS, (recheck_at - now).total_seconds()]
    expires_at = session.conn.actor.expires_at
    if expires_at is not None:
        due.append((expires_at - now).total_seconds())
    return max(min(due), MIN_WAIT_SECONDS)


def _credential_expired(session: Session) -> bool:
    expires_at = session.conn.actor.expires_at
    return expires_at is not None and expires_at <= session.clock.now()


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
