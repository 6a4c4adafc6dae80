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
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from application.shared import Publication
from domain.shared import Cursor, DomainError
from entrypoints.metrics import EVENTS_DELIVERED
from entrypoints.ws.wire import framed, lock_not_held_across_io, spawn, text_frame, threads_are_greenlets

log = logging.getLogger(__name__)

# The outbox is bounded in bytes (what a slow client can make a worker hold) and in items.
# Frames are JSON with ASCII escapes, so their length in characters is their size in bytes.
OUTBOX_BYTES = 4 * 2**20
OUTBOX_FRAMES = 2000
# What one write takes from the outbox at most: a slow client's backlog goes out in pieces of this.
WRITE_BYTES = 256 * 1024
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


class Flusher:
    """Under gevent: one greenlet writes every socket's pending frames, socket after socket.

    A publication to a thousand subscribers then costs a thousand writes from one greenlet, not a
    thousand greenlets started and switched to; and a socket whose frames piled up while others
    were written gets them in one write. Writes here never wait: a socket that cannot take its
    frames at once, or has a re-check or its close next, is handed to a writer of its own.
    """

    def __init__(self) -> None:
        self._due: list[Connection] = []

    def add(self, conn: Connection) -> None:
        if not self._due:
            spawn(self._run)
        self._due.append(conn)

    def _run(self) -> None:
        # Nothing below waits, so no other greenlet runs (and adds) until the list is done.
        due, self._due = self._due, []
        for conn in due:
            try:
                conn.flush_without_waiting()
            except Exception:
                log.exception("could not write a websocket's frames")


FLUSHER: Flusher | None = Flusher() if threads_are_greenlets() else None


class _Frame:
    """Text to send, and its websocket frame when it was encoded once for many sockets."""

    __slots__ = ("text", "topic", "wire")

    def __init__(self, text: str, topic: str | None, wire: bytes | None):
        self.text = text
        self.topic = topic  # a topic's frames are skipped once its subscription is gone
        self.wire = wire


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

    __slots__ = (
        "conn",
        "id",
        "topic",
        "family",
        "access_may_change",
        "access_ended_message",
        "position_of",
        "expires_at",
        "_lock",
        "_priming",
        "_buffer",
        "_seen",
        "_seen_order",
        "unsubscribe",
        "on_renew",
        "still_allowed",
        "fetch_after",
        "start_seq",
        "_renewed_at",
        "actor",
        "in_order",
        "_last_position",
        "_resync_queued",
    )
    shares_frames = True

    def __init__(self, conn: Connection, sub_id: Any, topic: str, family: str = "forum.thread"):
        self.conn, self.id, self.topic, self.family = conn, sub_id, topic, family
        # Whose right to read the subscription stands on (the socket's credential, or a frame's own).
        self.actor: Any = None
        self.access_may_change: Callable[[dict[str, Any]], bool] = lambda event: False
        self.access_ended_message = "access to this topic ended"
        self.position_of: Callable[[str], int | None] = _seq_of
        self.expires_at = time.monotonic() + SUBSCRIPTION_TTL_SECONDS
        self._lock = lock_not_held_across_io()
        self._priming = True
        self._buffer: list[Publication] = []
        # The cursor de-duplication window, made with the first cursor (an idle subscription has none).
        self._seen: set[str] | None = None
        self._seen_order: deque[str] | None = None
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
            # The publication's own frame: its websocket bytes, encoded once, serve every subscriber.
            self.conn.enqueue(frame, self.topic, framed(publication) if self.shares_frames else None)
            EVENTS_DELIVERED.inc()

    def render(self, publication: Publication) -> str | None:
        """The frame of a live event (None: not one this client's protocol has). A subclass that
        renders its own sets `shares_frames = False`."""
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
                seqs = [seq for seq in map(self.position_of, self._seen_order or ()) if seq is not None]
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
        if self._seen is None:
            self._seen, self._seen_order = set(), deque()
        elif cursor in self._seen:
            return False
        self._seen.add(cursor)
        self._seen_order.append(cursor)
        if len(self._seen_order) > 4096:
            self._seen.discard(self._seen_order.popleft())
        return True


class Connection:
    """The outbox is a deque under one lock; its writer exists only while there is something to send
    (an idle socket costs no writer greenlet) and takes every frame pending at once, in one write."""

    __slots__ = (
        "ws",
        "id",
        "actor",
        "subscriptions",
        "_outbox",
        "_queued_bytes",
        "_lock",
        "_closed",
        "_writing",
        "_torn_down",
        "_done",
        "_send_frames",
        "_try_send_frames",
        "__weakref__",  # a draining server finds its open sockets through a WeakSet (restart.py)
    )

    def __init__(self, ws):
        self.ws = ws
        self.id = uuid.uuid4().hex
        self.actor = None
        self.subscriptions: dict[str, Subscription] = {}
        self._outbox: deque[_Frame | _Call | _Close] = deque()
        self._queued_bytes = 0
        self._lock = lock_not_held_across_io()
        self._closed = False
        self._writing = False  # a writer runs (it clears this, under the lock, when the outbox is empty)
        self._torn_down = False
        self._done: threading.Event | None = None  # made by close(): set once the writer has torn down
        # The lean server socket writes pre-encoded frames; any object with send(text) and
        # close(code, reason) serves too (the unit tests' fakes), one text at a time.
        self._send_frames = getattr(ws, "send_frames", None)
        self._try_send_frames = getattr(ws, "try_send_frames", None)

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, frame: dict[str, Any]) -> None:
        self.enqueue(json.dumps(frame, separators=(",", ":")))

    def enqueue(self, text: str, topic: str | None = None, wire: bytes | None = None) -> None:
        """`wire`: the text's websocket frame, when it was encoded once for every subscriber."""
        self._put(_Frame(text, topic, wire), len(text))

    def enqueue_call(self, run: Callable[[], None]) -> None:
        self._put(_Call(run), 0)

    def send_now(self, frame: dict[str, Any]) -> None:
        """From the writer itself (a re-check): straight to the socket, behind nothing."""
        try:
            self._write([_Frame(json.dumps(frame, separators=(",", ":")), None, None)])
        except Exception:
            self.close(flush=False)

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def _put(self, item: _Frame | _Call, size: int) -> None:
        if self._closed:
            return
        with self._lock:
            fits = self._queued_bytes + size <= OUTBOX_BYTES and len(self._outbox) < OUTBOX_FRAMES
            if fits:
                self._queued_bytes += size
                self._outbox.append(item)
                start = not self._writing
                self._writing = True
        if not fits:
            self.close(CLOSE_TOO_SLOW, "too slow: reconnect with your last cursor", flush=False)
        elif start:
            self._start_writer()

    def _take(self) -> list[_Frame] | _Call | _Close | None:
        """What the writer does next: every frame pending (up to a write's worth), or one call or close."""
        with self._lock:
            outbox = self._outbox
            if not outbox:
                self._writing = False
                return None
            if not isinstance(outbox[0], _Frame):
                return outbox.popleft()
            frames: list[_Frame] = []
            size = 0
            while outbox and isinstance(outbox[0], _Frame) and size < WRITE_BYTES:
                frame = outbox.popleft()
                frames.append(frame)
                size += len(frame.text)
            self._queued_bytes -= size
            return frames

    def _start_writer(self) -> None:
        if self._try_send_frames is not None and FLUSHER is not None:
            FLUSHER.add(self)
        else:
            spawn(self._drain)

    def flush_without_waiting(self) -> None:
        """On the flusher: write what is pending while the socket takes it at once. Anything that
        could wait (a full socket, a re-check, the close) goes on on a writer of this connection's own."""
        while True:
            work = self._take()
            if work is None:
                return
            if not isinstance(work, list):
                spawn(partial(self._drain, work))
                return
            frames = self._still_wanted(work)
            if not frames:
                continue
            try:
                outcome = self._try_send_frames([f.wire if f.wire is not None else text_frame(f.text) for f in frames])
            except Exception:
                self._failed()
                return
            if outcome != "sent":
                spawn(partial(self._drain, None if outcome == "partly" else frames))
                return

    def _drain(self, first: _Frame | _Call | _Close | list[_Frame] | None = None) -> None:
        """The connection's own writer. `first`: what the flusher handed over (None: only the rest of
        a frame it began, which the socket sends before anything else)."""
        if first is None and self._try_send_frames is not None:
            try:
                self.ws.finish_sending()
            except Exception:
                self._failed()
                return
        work = first
        while True:
            if work is None:
                work = self._take()
                if work is None:
                    return
            if isinstance(work, _Close):
                self._teardown(work.code, work.reason)
                return
            if isinstance(work, _Call):
                work.run()
                work = None
                continue
            frames = self._still_wanted(work)
            work = None
            if not frames:
                continue
            try:
                self._write(frames)
            except Exception:
                self._failed()
                return

    def _still_wanted(self, frames: list[_Frame]) -> list[_Frame]:
        subscribed = self.subscriptions
        return [f for f in frames if f.topic is None or f.topic in subscribed]

    def _failed(self) -> None:
        # A send that fails ends the connection and with it every subscription.
        self._closed = True
        self._discard_queued()
        spawn(lambda: self._teardown(None, None))

    def _write(self, frames: list[_Frame]) -> None:
        if self._send_frames is not None:
            self._send_frames([f.wire if f.wire is not None else text_frame(f.text) for f in frames])
        else:
            for frame in frames:
                self.ws.send(frame.text)

    def _teardown(self, code: int | None, reason: str | None) -> None:
        self.remove_all()
        try:
            self.ws.close(code, reason)
        except Exception:
            pass
        with self._lock:
            self._torn_down = True
            self._writing = False
            self._outbox.clear()
            self._queued_bytes = 0
            done = self._done
        if done is not None:
            done.set()

    def remove_all(self) -> None:
        """Drop every subscription (listener and stored row). Safe from any thread, and twice."""
        for topic in list(self.subscriptions):
            self.remove(topic)

    @property
    def writer_alive(self) -> bool:
        return self._writing and not self._torn_down

    def wait_flushed(self, timeout: float) -> None:
        """After `close()`: give the writer a moment to deliver the last frames and tear down."""
        done = self._done
        if done is not None and not self._torn_down:
            done.wait(timeout)

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
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._torn_down:
                return
            self._done = threading.Event()
            if not flush:
                self._outbox.clear()
                self._queued_bytes = 0
            self._outbox.append(_Close(code, reason))
            start = not self._writing
            self._writing = True
        if start:
            spawn(self._drain)  # a close may block (the close frame): never on the flusher

    def _discard_queued(self) -> None:
        with self._lock:
            self._outbox.clear()
            self._queued_bytes = 0
