"""Frame handling, table-driven: action -> handler (DESIGN.md §4.2), the same for every topic.

`subscribe` / `unsubscribe` dispatch on the frame's `topic` through the topic registry
(entrypoints/ws/topics.py). A compatibility layer for AlgoREA's front end (`forum.subscribe`,
`heartbeat`, …) adds its own entries to `HANDLERS` beside these, reusing `subscribe_to`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from application.delivery.hub import Hub
from application.delivery.subscriptions import SubscriptionStore, TopicSubscription
from application.shared import Actor, BackendUnavailable, Clock
from domain.shared import Cursor, DomainError, Forbidden, NotFound
from entrypoints.metrics import LIVE_SUBSCRIPTIONS
from entrypoints.ws.connection import SUBSCRIPTION_LEASE_SECONDS, Connection, Subscription
from entrypoints.ws.topics import BadFrame, TopicRegistry, TopicSpec, cursor_position, decode_cursor

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
    """What a frame handler may use: the connection, the registered topics, the live hub, the shared
    subscription store (None: not kept) and the clock. Nothing in it belongs to one context."""

    conn: Connection
    topics: TopicRegistry
    hub: Hub
    subscriptions: SubscriptionStore | None
    clock: Clock
    subscribes: TokenBucket = field(default_factory=lambda: TokenBucket(SUBSCRIBE_RATE_PER_SECOND, SUBSCRIBE_BURST))
    refusals: TokenBucket = field(default_factory=lambda: TokenBucket(SUBSCRIBE_RATE_PER_SECOND, SUBSCRIBE_BURST))


class Refused(Exception):
    """A well-formed frame this socket may not have served now: the error frame carries `code`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def error_frame(frame_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "id": frame_id, "code": code, "message": message}


def handle_ping(session: Session, frame: dict[str, Any]) -> None:
    session.conn.send({"type": "pong", "id": frame.get("id")})


def handle_unsubscribe(session: Session, frame: dict[str, Any]) -> None:
    spec = session.topics.spec_for(frame)
    topic = spec.topic(_key(spec, frame))
    removed = session.conn.remove(topic.name)
    session.conn.send({"type": "unsubscribed", "id": frame.get("id"), "found": removed is not None})


def handle_subscribe(session: Session, frame: dict[str, Any]) -> None:
    frame_id = frame.get("id")
    if not admit_subscribe(session, frame_id):
        return
    spec = session.topics.spec_for(frame)
    key = _key(spec, frame)
    subscribe_to(session, spec, key, frame_id, decode_cursor(frame.get("since"), frame_id))


def admit_subscribe(session: Session, frame_id: Any) -> bool:
    """The subscribe rate limit: raises Refused over it; False when the socket was closed for flooding."""
    conn = session.conn
    if not session.subscribes.take():
        if not session.refusals.take():
            conn.send(error_frame(frame_id, "rate_limited", "too many subscribe frames: closing"))
            conn.close(CLOSE_FLOODING, "too many subscribe frames")
            return False
        raise Refused("rate_limited", f"at most {SUBSCRIBE_RATE_PER_SECOND:g} subscribe frames a second")
    return True


def subscribe_to(
    session: Session, spec: TopicSpec, key: Any, frame_id: Any, since: Cursor | None, *,
    actor: Actor | None = None, make_subscription: type[Subscription] = Subscription,
    send_history: HistorySender | None = None,
) -> Subscription:
    """Subscribe this socket to one topic: caps, access, live registration before history, the
    stored row with its lease, then the history (or what was missed since `since`).

    `actor` is whose right to read decides (the socket's own credential unless a frame brought one:
    AlgoREA's thread token); `make_subscription` and `send_history` give the frames their shape."""
    conn = session.conn
    actor = actor or conn.actor
    topic = spec.topic(key)
    name = topic.name
    if name not in conn.subscriptions and len(conn.subscriptions) >= MAX_SUBSCRIPTIONS:
        raise Refused("too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
    spec.authorize(actor, key)
    conn.remove(name)  # subscribing twice replaces the first subscription
    sub = make_subscription(conn, frame_id, name, spec.family)
    sub.actor = actor
    sub.access_may_change = spec.access_may_change
    sub.access_ended_message = spec.access_ended_message
    sub.position_of = cursor_position
    sub.still_allowed = lambda: may_still_read(session, spec, key, sub.actor)
    sub.start_seq = since.seq if since else 0
    sub.in_order = getattr(spec, "consecutive_positions", False)
    sub.fetch_after = lambda seq: spec.missed_since(key, Cursor(seq))
    stop_listening = session.hub.subscribe(name, sub.on_publication)  # before history: no gap
    LIVE_SUBSCRIPTIONS.inc()

    def unsubscribe() -> None:
        stop_listening()
        LIVE_SUBSCRIPTIONS.dec()
        _forget(session, topic)

    sub.unsubscribe = unsubscribe
    conn.subscriptions[name] = sub
    try:
        _record(session, sub, topic)
        sub.on_renew = lambda: _record(session, sub, topic)
        pages = [spec.newest(key)] if since is None else spec.missed_since(key, since)
        cursors = (send_history or _send_history)(conn, frame_id, pages, since, spec.family)
    except BaseException:
        conn.remove(name)  # no listener left behind, no buffer growing while "priming" forever
        raise
    sub.primed(cursors)
    return sub


def may_still_read(session: Session, spec: TopicSpec, key: Any, actor: Actor | None = None) -> bool:
    """Re-checked after access-changing events, on renewal, when grants change and periodically;
    a credential past its exp ends every subscription."""
    actor = actor or session.conn.actor
    expires_at = getattr(actor, "expires_at", None)
    if expires_at is not None and expires_at <= session.clock.now():
        return False
    return spec.still_allowed(actor, key)


def _record(session: Session, sub: Subscription, topic) -> None:
    """Shared with other processes: followers who watch live get no stored notification."""
    store = session.subscriptions
    if store is not None:
        expires = session.clock.now() + timedelta(seconds=min(SUBSCRIPTION_LEASE_SECONDS, sub.seconds_left()))
        store.put(TopicSubscription(topic, session.conn.id, session.conn.actor.user_id, expires))


def _forget(session: Session, topic) -> None:
    if session.subscriptions is not None:
        try:
            session.subscriptions.delete(topic, session.conn.id)
        except Exception:
            # The row expires by itself; a store that is down must not keep the socket's cleanup from finishing.
            log.warning("could not delete a live subscription", exc_info=True)


# Sends a new subscription's history pages; returns the cursors sent (they are not delivered again).
HistorySender = Callable[[Connection, Any, Iterable[list[dict[str, Any]]], "Cursor | None", str], list[str]]


def _send_history(conn: Connection, frame_id: Any, pages, since: Cursor | None, family: str) -> list[str]:
    """The first page rides in the `subscribed` reply; further missed events follow as event frames."""
    cursors: list[str] = []
    first = True
    for events in pages:
        cursors += [e["cursor"] for e in events]
        if first:
            last = cursors[-1] if cursors else (since.encode() if since else None)
            conn.send({"type": "subscribed", "id": frame_id, "events": events, "cursor": last})
            first = False
        else:
            for event in events:
                conn.send({"type": "event", "topic": family, "event": event})
    if first:
        conn.send({"type": "subscribed", "id": frame_id, "events": [], "cursor": since.encode() if since else None})
    return cursors


def _key(spec: TopicSpec, frame: dict[str, Any]) -> Any:
    try:
        return spec.parse(frame)
    except DomainError as err:
        raise BadFrame(err.message, frame.get("id")) from None


def valid_frame_id(frame_id: Any) -> bool:
    """Echoed in replies, so it must stay valid JSON: a string, a finite number or null."""
    if frame_id is None or isinstance(frame_id, str):
        return True
    if isinstance(frame_id, bool):
        return False
    if isinstance(frame_id, int):
        return True
    return isinstance(frame_id, float) and math.isfinite(frame_id)


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
    if not valid_frame_id(frame_id):
        session.conn.send(error_frame(None, "bad_request", "id must be a string, a finite number or null"))
        return
    try:
        handler = HANDLERS.get(action) if isinstance(action, str) else None
        if handler is None:
            raise BadFrame(f"unknown action {str(action)[:40]!r}", frame_id)
        handler(session, frame)
    except BadFrame as err:
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
