"""Frame handling, table-driven: action -> handler (DESIGN.md §4.2).

A compatibility layer for AlgoREA's front end (`forum.subscribe`, `heartbeat`, …) adds its own
entries to `HANDLERS` without touching these.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from application.forum import live
from application.forum.deps import ForumDeps
from application.forum.notifications import LiveSubscription
from application.forum.topics import thread_topic
from application.shared import BackendUnavailable
from domain.forum.model import ThreadKey
from domain.shared import Cursor, DomainError, Forbidden, NotFound, parse_id
from entrypoints.metrics import LIVE_SUBSCRIPTIONS
from entrypoints.ws import dm as dm_ws
from entrypoints.ws.connection import SUBSCRIPTION_LEASE_SECONDS, Connection, Subscription

MAX_FRAME_CHARS = 16 * 1024
# Per socket: each subscription is a listener, a stored row and its renewals; each subscribe frame
# reads history and writes a row. A page follows tens of threads, not thousands.
MAX_SUBSCRIPTIONS = 100
SUBSCRIBE_RATE_PER_SECOND = 20.0
SUBSCRIBE_BURST = 40
# A client refused that often again (more than a burst of refusals over the rate) is flooding: closed.
CLOSE_FLOODING = 4429
log = logging.getLogger(__name__)


class TokenBucket:
    """`burst` actions at once, then `rate` a second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass
class Session:
    """What a frame handler may use: the connection, the forum use cases and the live hub."""

    conn: Connection
    forum: ForumDeps
    hub: Any
    dm: Any = None  # the dm context's use cases (application.dm.ports.DmDeps), for `dm.group`
    subscribes: TokenBucket = field(default_factory=lambda: TokenBucket(SUBSCRIBE_RATE_PER_SECOND, SUBSCRIBE_BURST))
    refusals: TokenBucket = field(default_factory=lambda: TokenBucket(SUBSCRIBE_RATE_PER_SECOND, SUBSCRIBE_BURST))


class Refused(Exception):
    """A well-formed frame this socket may not have served now: the error frame carries `code`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class BadFrame(Exception):
    def __init__(self, message: str, frame_id: Any = None):
        super().__init__(message)
        self.frame_id = frame_id


def error_frame(frame_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "id": frame_id, "code": code, "message": message}


def handle_ping(session: Session, frame: dict[str, Any]) -> None:
    session.conn.send({"type": "pong", "id": frame.get("id")})


def handle_unsubscribe(session: Session, frame: dict[str, Any]) -> None:
    if frame.get("topic") == dm_ws.GROUP_TOPIC and session.dm is not None:
        return dm_ws.unsubscribe(session, frame)
    key = _thread_key(frame)
    removed = session.conn.remove(thread_topic(key))
    session.conn.send({"type": "unsubscribed", "id": frame.get("id"), "found": removed is not None})


def handle_subscribe(session: Session, frame: dict[str, Any]) -> None:
    conn, frame_id = session.conn, frame.get("id")
    if not session.subscribes.take():
        if not session.refusals.take():
            conn.send(error_frame(frame_id, "rate_limited", "too many subscribe frames: closing"))
            conn.close(CLOSE_FLOODING, "too many subscribe frames")
            return
        raise Refused("rate_limited", f"at most {SUBSCRIBE_RATE_PER_SECOND:g} subscribe frames a second")
    if frame.get("topic") == dm_ws.GROUP_TOPIC and session.dm is not None:
        if len(conn.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise Refused("too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
        return dm_ws.subscribe(session, frame)
    key = _thread_key(frame)
    since = _since(frame)
    topic = thread_topic(key)
    if topic not in conn.subscriptions and len(conn.subscriptions) >= MAX_SUBSCRIPTIONS:
        raise Refused("too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
    live.authorize_subscription(session.forum, conn.actor, key)
    conn.remove(topic)  # subscribing twice replaces the first subscription
    sub = Subscription(conn, frame_id, topic)
    sub.still_allowed = lambda: may_still_read(session, key)
    sub.start_seq = since.seq if since else 0
    sub.fetch_after = lambda seq: (
        [e.to_public() for e in page] for page in live.missed_since(session.forum, key, Cursor(seq))
    )
    stop_listening = session.hub.subscribe(topic, sub.on_publication)  # before history: no gap
    LIVE_SUBSCRIPTIONS.inc()

    def unsubscribe() -> None:
        stop_listening()
        LIVE_SUBSCRIPTIONS.dec()
        _forget(session, sub)

    sub.unsubscribe = unsubscribe
    conn.subscriptions[topic] = sub
    try:
        _record(session, sub)
        sub.on_renew = lambda: _record(session, sub)
        if since is None:
            pages = [live.newest_history(session.forum, key)]
        else:
            pages = live.missed_since(session.forum, key, since)
        cursors = _send_history(conn, frame_id, pages, since)
    except BaseException:
        conn.remove(topic)  # no listener left behind, no buffer growing while "priming" forever
        raise
    sub.primed(cursors)


def may_still_read(session: Session, key: ThreadKey) -> bool:
    """Re-checked after access-changing events, on renewal, when grants change and periodically
    (DESIGN.md §2.1 read rule)."""
    expires_at = getattr(session.conn.actor, "expires_at", None)
    if expires_at is not None and expires_at <= session.forum.now():
        return False
    try:
        live.authorize_subscription(session.forum, session.conn.actor, key)
    except Forbidden:
        return False
    return True


def _record(session: Session, sub: Subscription) -> None:
    """Shared with other processes: followers who watch live get no stored notification."""
    store = session.forum.subscriptions
    if store is not None:
        expires = session.forum.now() + timedelta(seconds=min(SUBSCRIPTION_LEASE_SECONDS, sub.seconds_left()))
        store.put(LiveSubscription(sub.topic, session.conn.id, session.conn.actor.user_id, expires))


def _forget(session: Session, sub: Subscription) -> None:
    if session.forum.subscriptions is not None:
        try:
            session.forum.subscriptions.delete(sub.topic, session.conn.id)
        except Exception:
            # The row expires by itself; a store that is down must not keep the socket's cleanup from finishing.
            log.warning("could not delete a live subscription", exc_info=True)


def _send_history(conn: Connection, frame_id: Any, pages, since: Cursor | None) -> list[str]:
    """The first page rides in the `subscribed` reply; further missed events follow as event frames."""
    cursors: list[str] = []
    first = True
    for page in pages:
        events = [e.to_public() for e in page]
        cursors += [e["cursor"] for e in events]
        if first:
            last = cursors[-1] if cursors else (since.encode() if since else None)
            conn.send({"type": "subscribed", "id": frame_id, "events": events, "cursor": last})
            first = False
        else:
            for event in events:
                conn.send({"type": "event", "topic": "forum.thread", "event": event})
    if first:
        conn.send({"type": "subscribed", "id": frame_id, "events": [], "cursor": since.encode() if since else None})
    return cursors


def _thread_key(frame: dict[str, Any]) -> ThreadKey:
    if frame.get("topic", "forum.thread") != "forum.thread":
        raise BadFrame("unknown topic", frame.get("id"))
    try:
        return ThreadKey(
            parse_id(frame.get("item_id"), "item_id"), parse_id(frame.get("participant_id"), "participant_id")
        )
    except DomainError as err:
        raise BadFrame(err.message, frame.get("id")) from None


def _since(frame: dict[str, Any]) -> Cursor | None:
    raw = frame.get("since")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadFrame("since must be a cursor string", frame.get("id"))
    try:
        return Cursor.decode(raw, "since")
    except DomainError:
        raise BadFrame("malformed cursor", frame.get("id")) from None


Handler = Callable[[Session, dict[str, Any]], None]

HANDLERS: dict[str, Handler] = {
    "subscribe": handle_subscribe,
    "unsubscribe": handle_unsubscribe,
    "ping": handle_ping,
}


def dispatch(session: Session, frame: dict[str, Any]) -> None:
    """Run one frame's handler; every failure becomes an error frame and the connection stays."""
    frame_id = frame.get("id")
    action = frame.get("action")
    try:
        handler = HANDLERS.get(action) if isinstance(action, str) else None
        if handler is None:
            raise BadFrame(f"unknown action {str(action)[:40]!r}", frame_id)
        handler(session, frame)
    except (BadFrame, dm_ws.DmBadFrame) as err:
        session.conn.send(error_frame(err.frame_id, "bad_request", str(err)))
    except Refused as err:
        session.conn.send(error_frame(frame_id, err.code, err.message))
    except Forbidden as err:
        session.conn.send(error_frame(frame_id, "forbidden", err.message))
    except NotFound as err:
        session.conn.send(error_frame(frame_id, "not_found", err.message))
    except BackendUnavailable as err:
        session.conn.send(error_frame(frame_id, "unavailable", err.message))
    except DomainError as err:
        session.conn.send(error_frame(frame_id, "bad_request", err.message))
    except Exception:
        # A bug must cost one frame, not the client's connection and subscriptions.
        log.exception("websocket frame handler failed")
        session.conn.send(error_frame(frame_id, "internal_error", "the frame could not be handled"))
