"""Is a session still live? A per-process cache with a bound on staleness, for every request.

A session-bound token is checked on every HTTP request and when a websocket opens. Reading the
store each time would add a store round trip to every request, so each process remembers the
answer for at most `staleness` seconds (PARLEY_SESSION_CACHE_SECONDS, 2 s by default):

- an end in this process is known at once (`ended`, called by the use case);
- an end in another process arrives through the fan-out (`on_publication`, the `sessions.ended`
  topic), usually within milliseconds;
- if that publication is lost, a cached "live" answer is still re-read after `staleness` seconds:
  that is the bound on how long an ended session's token may keep working anywhere;
- a session that runs out (idle, lifetime) is refused from its deadline on, cached or not.

A session once seen ended stays ended in the cache (it can never come back). Websockets of a
session register a callback (`watch`), called when the session is seen ended; a sweep re-checks
watched sessions every `sweep_seconds`, in case the publication was lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from application.shared import Clock, Publication
from domain.sessions.model import Session

log = logging.getLogger(__name__)

DEFAULT_STALENESS_SECONDS = 2.0
DEFAULT_SWEEP_SECONDS = 5.0
MAX_ENTRIES = 100_000

Reader = Callable[[str], Session | None]


@dataclass
class _Entry:
    live: bool
    expires_at: datetime | None
    checked_at: float


class SessionGuard:
    def __init__(
        self,
        read: Reader,
        clock: Clock,
        staleness_seconds: float = DEFAULT_STALENESS_SECONDS,
        sweep_seconds: float = DEFAULT_SWEEP_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._read, self._clock, self._monotonic = read, clock, monotonic
        self.staleness = staleness_seconds
        self.sweep_seconds = sweep_seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._watchers: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self.reads = 0  # store reads made, for tests and the bench

    def is_live(self, session_id: str) -> bool:
        with self._lock:
            entry = self._entries.get(session_id)
        if entry is not None:
            if not entry.live:
                return False
            if self._monotonic() - entry.checked_at < self.staleness and self._clock.now() < entry.expires_at:
                return True
        return self._check(session_id)

    def _check(self, session_id: str) -> bool:
        checked_at = self._monotonic()
        self.reads += 1
        session = self._read(session_id)  # BackendUnavailable propagates: the request answers 503
        live = session is not None and session.is_live(self._clock.now())
        with self._lock:
            current = self._entries.get(session_id)
            if current is not None and not current.live:
                return False  # ended while we read: an older answer never revives it
            self._remember(session_id, _Entry(live, session.expires_at if session else None, checked_at))
        if not live:
            self._notify(session_id)
        return live

    def ended(self, session_id: str) -> None:
        with self._lock:
            self._remember(session_id, _Entry(False, None, self._monotonic()))
        self._notify(session_id)

    def on_publication(self, publication: Publication) -> None:
        """The hub's listener on the `sessions.ended` topic."""
        session_id = publication.payload.get("session_ended")
        if isinstance(session_id, str):
            self.ended(session_id)
        elif publication.payload.get("resync"):
            # The fan-out reconnected: ends may have been missed, so no cached "live" is trusted.
            with self._lock:
                for entry in self._entries.values():
                    if entry.live:
                        entry.checked_at = float("-inf")
            self.sweep()

    def watch(self, session_id: str, on_end: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._watchers.setdefault(session_id, []).append(on_end)
            self._start_sweeper()

        def unwatch() -> None:
            with self._lock:
                callbacks = self._watchers.get(session_id, [])
                if on_end in callbacks:
                    callbacks.remove(on_end)
                if not callbacks:
                    self._watchers.pop(session_id, None)

        return unwatch

    def sweep(self) -> None:
        with self._lock:
            watched = list(self._watchers)
        for session_id in watched:
            try:
                self.is_live(session_id)
            except Exception:  # noqa: BLE001 (a store outage keeps the sockets; the next sweep retries)
                log.warning("could not check session validity", exc_info=True)

    def _notify(self, session_id: str) -> None:
        with self._lock:
            callbacks = self._watchers.pop(session_id, [])
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 (one socket's failure must not keep the others open)
                log.warning("session end callback failed", exc_info=True)

    def _remember(self, session_id: str, entry: _Entry) -> None:
        self._entries[session_id] = entry
        self._entries.move_to_end(session_id)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def _start_sweeper(self) -> None:
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep_forever, name="session-sweep", daemon=True)
            self._sweeper.start()

    def _sweep_forever(self) -> None:
        while True:
            time.sleep(self.sweep_seconds)
            self.sweep()
