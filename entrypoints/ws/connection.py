"""One websocket connection: a bounded outbox drained by its own writer, and its subscriptions.

Publishing never blocks on a client: frames go into the connection's bounded queue, and a
connection whose queue is full is closed (it resumes from its last cursor when it reconnects),
so one slow socket cannot hold up the others.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from application.shared import Publication
from entrypoints.metrics import EVENTS_DELIVERED

OUTBOX_FRAMES = 2000
SUBSCRIPTION_TTL_SECONDS = 2 * 3600
# Renewals rewrite the shared subscription store, so they happen at most this often per subscription.
RENEW_EVERY_SECONDS = 15 * 60
CLOSE_TOO_SLOW = 4408


class Subscription:
    """A client's subscription to one topic: buffers live events until its history has been sent."""

    def __init__(self, conn: Connection, sub_id: Any, topic: str):
        self.conn, self.id, self.topic = conn, sub_id, topic
        self.expires_at = time.monotonic() + SUBSCRIPTION_TTL_SECONDS
        self._lock = threading.Lock()
        self._priming = True
        self._buffer: list[Publication] = []
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.unsubscribe: Callable[[], None] = lambda: None
        self.on_renew: Callable[[], None] = lambda: None
        self._renewed_at = time.monotonic()

    def on_publication(self, publication: Publication) -> None:
        with self._lock:
            if self._priming:
                self._buffer.append(publication)
                return
            if self._remember(publication.cursor):
                self.conn.enqueue(publication.frame())
                EVENTS_DELIVERED.inc()

    def primed(self, history_cursors: list[str]) -> None:
        """History has been queued: release the live events it did not already contain."""
        with self._lock:
            for cursor in history_cursors:
                self._remember(cursor)
            for publication in self._buffer:
                if self._remember(publication.cursor):
                    self.conn.enqueue(publication.frame())
            self._buffer = []
            self._priming = False

    def renew(self) -> None:
        now = time.monotonic()
        if now - self._renewed_at < RENEW_EVERY_SECONDS:
            return
        self._renewed_at = now
        self.expires_at = now + SUBSCRIPTION_TTL_SECONDS
        self.on_renew()

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
    def __init__(self, ws, on_close: Callable[[Connection], None] | None = None):
        self.ws = ws
        self.id = uuid.uuid4().hex
        self.actor = None
        self.subscriptions: dict[str, Subscription] = {}
        self._outbox: queue.Queue = queue.Queue(maxsize=OUTBOX_FRAMES)
        self._closed = threading.Event()
        self._on_close = on_close
        self._writer = threading.Thread(target=self._drain, name=f"ws-writer-{self.id[:8]}", daemon=True)
        self._writer.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, frame: dict[str, Any]) -> None:
        self.enqueue(json.dumps(frame, separators=(",", ":")))

    def enqueue(self, text: str) -> None:
        if self.closed:
            return
        try:
            self._outbox.put_nowait(text)
        except queue.Full:
            self.close(CLOSE_TOO_SLOW, "too slow: reconnect with your last cursor", flush=False)

    def _drain(self) -> None:
        while True:
            item = self._outbox.get()
            if isinstance(item, tuple):
                self._close_socket(*item)
                return
            try:
                self.ws.send(item)
            except Exception:
                # A send that fails ends the connection and with it every subscription.
                self.close(flush=False)
                return

    def _close_socket(self, code: int | None, reason: str | None) -> None:
        try:
            self.ws.close(code, reason)
        except Exception:
            pass

    def wait_flushed(self, timeout: float) -> None:
        """After `close(flush=True)`: give the writer a moment to deliver the last frames."""
        self._writer.join(timeout=timeout)

    def drop_expired(self) -> list[Subscription]:
        now = time.monotonic()
        expired = [s for s in self.subscriptions.values() if s.expires_at <= now]
        for sub in expired:
            self.remove(sub.topic)
        return expired

    def renew_all(self) -> None:
        for sub in self.subscriptions.values():
            sub.renew()

    def remove(self, topic: str) -> Subscription | None:
        sub = self.subscriptions.pop(topic, None)
        if sub is not None:
            sub.unsubscribe()
        return sub

    def close(self, code: int | None = None, reason: str | None = None, flush: bool = True) -> None:
        """Stop delivering; with `flush`, frames already queued (such as an error) go out first."""
        if self._closed.is_set():
            return
        self._closed.set()
        for topic in list(self.subscriptions):
            self.remove(topic)
        if flush:
            try:
                self._outbox.put_nowait((code, reason))
            except queue.Full:
                flush = False
        if not flush:
            self._close_socket(code, reason)
            try:
                self._outbox.put_nowait((None, None))
            except queue.Full:
                pass
        if self._on_close:
            self._on_close(self)
