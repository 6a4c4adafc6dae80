"""One websocket connection: a bounded outbox drained by its own writer, and its subscriptions.

Publishing never blocks on a client: frames go into the connection's bounded queue, and a
connection whose queue is full is closed (it resumes from its last cursor when it reconnects),
so one slow socket cannot hold up the others. Everything that may block or do I/O for this
connection — sending, closing the socket, dropping subscriptions, re-checking access — runs on
the connection's writer, never on the thread that publishes.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from application.shared import Publication
from domain.shared import Cursor, DomainError
from entrypoints.metrics import EVENTS_DELIVERED

log = logging.getLogger(__name__)

# The outbox is bounded in bytes (what a slow client can make a worker hold) and in items.
# Frames are JSON with ASCII escapes, so their length in characters is their size in bytes.
OUTBOX_BYTES = 4 * 2**20
OUTBOX_FRAMES = 2000
SUBSCRIPTION_TTL_SECONDS = 2 * 3600
# Renewals rewrite the shared subscription store, so they happen at most this often per subscription.
RENEW_EVERY_SECONDS = 15 * 60
# A stored row only counts while the process holding the socket renews it: it carries the sooner of
# the subscription's own expiry and now + the lease, so the rows of a process that died (SIGKILL,
# power loss) stop counting as watchers within the lease. Renewed every LEASE_RENEW_SECONDS (the
# reader loop wakes at least every 30 s, so two renewals are at most about 60 s apart).
SUBSCRIPTION_LEASE_SECONDS = 90
LEASE_RENEW_SECONDS = 30
CLOSE_TOO_SLOW = 4408


@dataclass(frozen=True)
class _Frame:
    text: str
    topic: str | None = None  # a topic's frames are skipped once its subscription is gone


@dataclass(frozen=True)
class _Call:
    run: Callable[[], None]


@dataclass(frozen=True)
class _Close:
    code: int | None
    reason: str | None


def _seq_of(cursor: str) -> int | None:
    try:
        return Cursor.decode(cursor).seq
    except DomainError:
        return None


class Subscription:
    """A client's subscription to one topic: buffers live events until its history has been sent.

    What depends on the topic's family is set by the protocol from the family's spec
    (entrypoints/ws/topics.py): its name in event frames, which events call for an access re-check
    and how cursors order.
    """

    def __init__(self, conn: Connection, sub_id: Any, topic: str, family: str = "forum.thread"):
        self.conn, self.id, self.topic, self.family = conn, sub_id, topic, family
        # Whose right to read the subscription stands on (the socket's credential, or a frame's own).
        self.actor: Any = None
        self.access_may_change: Callable[[dict[str, Any]], bool] = lambda event: False
        self.access_ended_message = "access to this topic ended"
        self.position_of: Callable[[str], int | None] = _seq_of
        self.expires_at = time.monotonic() + SUBSCRIPTION_TTL_SECONDS
        self._lock = threading.Lock()
        self._priming = True
        self._buffer: list[Publication] = []
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.unsubscribe: Callable[[], None] = lambda: None
        # Writes the stored row with a fresh lease (on renewal, and every LEASE_RENEW_SECONDS).
        self.on_renew: Callable[[], None] = lambda: None
        # Re-checks the right to read; returns False when it is gone. Runs on the writer.
        self.still_allowed: Callable[[], bool] = lambda: True
        # Pages of public events after a sequence number, from the store (for resync). Runs on the writer.
        self.fetch_after: Callable[[int], Iterable[list[dict[str, Any]]]] = lambda seq: []
        self.start_seq = 0
        self._renewed_at = time.monotonic()
        # Families whose positions are consecutive (a forum thread's sequence) are sent strictly in
        # order: a live event that skips ahead is held back and the gap filled from the store.
        self.in_order = False
        self._last_position: int | None = None
        self._resync_queued = False

    def on_publication(self, publication: Publication) -> None:
        with self._lock:
            if self._priming:
                self._buffer.append(publication)
                return
            self._deliver(publication)

    def primed(self, history_cursors: list[str]) -> None:
        """History has been queued: release the live events it did not already contain."""
        with self._lock:
            for cursor in history_cursors:
                self._remember(cursor)
            self._start_order(history_cursors)
            for publication in self._buffer:
                self._deliver(publication)
            self._buffer = []
            self._priming = False

    def _deliver(self, publication: Publication) -> None:
        if publication.payload.get("access_check"):
            self.conn.enqueue_call(self.recheck)
            return
        if publication.payload.get("resync"):
            self.conn.enqueue_call(self.resync)
            return
        if self.in_order and not self._next_in_order(publication.cursor):
            return
        if not self._remember(publication.cursor):
            return
        event = publication.payload.get("event")
        if isinstance(event, dict) and self.access_may_change(event):
            # Checked before the frame goes out: the change may be the one that ends this reader's access.
            self.conn.enqueue_call(self.recheck)
        frame = self.render(publication)
        if frame is not None:
            self.conn.enqueue(frame, self.topic)
            EVENTS_DELIVERED.inc()

    def render(self, publication: Publication) -> str | None:
        """The frame of a live event (None: not one this client's protocol has)."""
        return publication.frame()

    def render_event(self, event: dict[str, Any]) -> str | None:
        """The frame of a stored event fetched again (a resync)."""
        return json.dumps({"type": "event", "topic": self.family, "event": event}, separators=(",", ":"))

    def recheck(self) -> None:
        if self.conn.subscriptions.get(self.topic) is not self:
            return
        try:
            allowed = self.still_allowed()
        except Exception:
            log.warning("could not re-check a subscription; keeping it", exc_info=True)
            return
        if not allowed:
            self.conn.remove(self.topic)
            self.conn.send_now(
                {"type": "error", "id": self.id, "code": "forbidden", "message": self.access_ended_message}
            )

    def resync(self) -> None:
        """Fetch from the store whatever followed the newest event this client was sent."""
        if self.conn.subscriptions.get(self.topic) is not self:
            return
        with self._lock:
            self._resync_queued = False
            if self.in_order:
                after = self._last_position
            else:
                seqs = [seq for seq in map(self.position_of, self._seen_order) if seq is not None]
                after = max(seqs, default=self.start_seq)
        try:
            pages = list(self.fetch_after(after))
        except Exception:
            log.warning("could not resync a subscription", exc_info=True)
            return
        with self._lock:
            for page in pages:
                for event in page:
                    if self.in_order and not self._advance_from_store(event.get("cursor")):
                        continue
                    if self._remember(event.get("cursor")):
                        frame = self.render_event(event)
                        if frame is not None:
                            self.conn.enqueue(frame, self.topic)

    # -- strict order (in_order families); every method below runs under self._lock ----------------

    def _start_order(self, history_cursors: list[str]) -> None:
        """The history sent (or the `since` cursor) is where the live stream must continue."""
        positions = [p for p in map(self.position_of, history_cursors) if p is not None]
        self._last_position = max(positions, default=self.start_seq)

    def _next_in_order(self, cursor: str | None) -> bool:
        """True for the event right after the last one sent. An older one was sent already (or
        comes with the gap's resync); a newer one means publications were lost or reordered on the
        way (several servers publishing, held publications sent late): fetch the gap from the store."""
        position = None if cursor is None else self.position_of(cursor)
        if position is None or self._last_position is None:
            return True
        if position == self._last_position + 1:
            self._last_position = position
            return True
        if position > self._last_position + 1 and not self._resync_queued:
            self._resync_queued = True
            self.conn.enqueue_call(self.resync)
        return False

    def _advance_from_store(self, cursor: str | None) -> bool:
        """Events read back from the store are the truth: any newer one is sent, in the store's order."""
        position = None if cursor is None else self.position_of(cursor)
        if position is None or self._last_position is None:
            return True
        if position <= self._last_position:
            return False
        self._last_position = position
        return True

    def renew(self) -> None:
        now = time.monotonic()
        if now - self._renewed_at < RENEW_EVERY_SECONDS:
            return
        self._renewed_at = now
        self.expires_at = now + SUBSCRIPTION_TTL_SECONDS
        self.on_renew()
        self.conn.enqueue_call(self.recheck)

    def seconds_left(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def _remember(self, cursor: str | None) -> bool:
        """True the first time a cursor is seen. Keeps a bounded window: duplicates arrive close together."""
        if cursor is None:
            return True
        if cursor in self._seen:
            return False
        self._seen.add(cursor)
        self._seen_order.append(cursor)
        if len(self._seen_order) > 4096:
            self._seen.discard(self._seen_order.popleft())
        return True


class Connection:
    def __init__(self, ws):
        self.ws = ws
        self.id = uuid.uuid4().hex
        self.actor = None
        self.subscriptions: dict[str, Subscription] = {}
        self._outbox: queue.Queue = queue.Queue(maxsize=OUTBOX_FRAMES)
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._closed = threading.Event()
        self._writer = threading.Thread(target=self._drain, name=f"ws-writer-{self.id[:8]}", daemon=True)
        self._writer.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, frame: dict[str, Any]) -> None:
        self.enqueue(json.dumps(frame, separators=(",", ":")))

    def enqueue(self, text: str, topic: str | None = None) -> None:
        self._put(_Frame(text, topic))

    def enqueue_call(self, run: Callable[[], None]) -> None:
        self._put(_Call(run))

    def send_now(self, frame: dict[str, Any]) -> None:
        """From the writer itself (a re-check): straight to the socket, behind nothing."""
        try:
            self.ws.send(json.dumps(frame, separators=(",", ":")))
        except Exception:
            self.close(flush=False)

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def _put(self, item: object) -> None:
        if self.closed:
            return
        size = len(item.text) if isinstance(item, _Frame) else 0
        with self._bytes_lock:
            fits = self._queued_bytes + size <= OUTBOX_BYTES
            if fits:
                self._queued_bytes += size
        if fits:
            try:
                self._outbox.put_nowait(item)
                return
            except queue.Full:
                self._account_taken(item)
        self.close(CLOSE_TOO_SLOW, "too slow: reconnect with your last cursor", flush=False)

    def _account_taken(self, item: object) -> None:
        if isinstance(item, _Frame):
            with self._bytes_lock:
                self._queued_bytes -= len(item.text)

    def _drain(self) -> None:
        while True:
            item = self._outbox.get()
            self._account_taken(item)
            if isinstance(item, _Close):
                self._teardown(item.code, item.reason)
                return
            if isinstance(item, _Call):
                item.run()
                continue
            if item.topic is not None and item.topic not in self.subscriptions:
                continue
            try:
                self.ws.send(item.text)
            except Exception:
                # A send that fails ends the connection and with it every subscription.
                self._closed.set()
                self._teardown(None, None)
                return

    def _teardown(self, code: int | None, reason: str | None) -> None:
        self.remove_all()
        try:
            self.ws.close(code, reason)
        except Exception:
            pass

    def remove_all(self) -> None:
        """Drop every subscription (listener and stored row). Safe from any thread, and twice."""
        for topic in list(self.subscriptions):
            self.remove(topic)

    @property
    def writer_alive(self) -> bool:
        return self._writer.is_alive()

    def wait_flushed(self, timeout: float) -> None:
        """After `close()`: give the writer a moment to deliver the last frames and tear down."""
        self._writer.join(timeout=timeout)

    def recheck_access(self) -> None:
        """Re-check every subscription on the writer (grants changed, or the periodic check is due)."""
        for sub in list(self.subscriptions.values()):
            self.enqueue_call(sub.recheck)

    def drop_expired(self) -> list[Subscription]:
        now = time.monotonic()
        expired = [s for s in self.subscriptions.values() if s.expires_at <= now]
        for sub in expired:
            self.remove(sub.topic)
        return expired

    def renew_all(self) -> None:
        for sub in list(self.subscriptions.values()):
            sub.renew()

    def renew_leases(self) -> None:
        """Rewrite every stored row with a fresh lease; a store that is down costs a warning only
        (the rows lapse, the socket and its live events go on)."""
        for sub in list(self.subscriptions.values()):
            try:
                sub.on_renew()
            except Exception:
                log.warning("could not renew a live subscription's lease", exc_info=True)

    def remove(self, topic: str) -> Subscription | None:
        sub = self.subscriptions.pop(topic, None)
        if sub is not None:
            sub.unsubscribe()
        return sub

    def close(self, code: int | None = None, reason: str | None = None, flush: bool = True) -> None:
        """Stop delivering. Never blocks: the writer tears down, after the frames already queued
        (`flush`) or at once, dropping them (a slow consumer, or a client already gone)."""
        if self._closed.is_set():
            return
        self._closed.set()
        if not flush:
            self._discard_queued()
        try:
            self._outbox.put_nowait(_Close(code, reason))
        except queue.Full:
            self._discard_queued()
            self._outbox.put_nowait(_Close(code, reason))

    def _discard_queued(self) -> None:
        try:
            while True:
                self._account_taken(self._outbox.get_nowait())
        except queue.Empty:
            pass
