"""The message bus: side effects that follow a commit run as handlers of the domain events it recorded.

A use case records events on its unit of work (`uow.record(event)`); once the transaction has
committed, the unit of work hands them to the bus, which calls every handler registered for the
event's type. Handlers never run for a transaction that rolled back, and a failing handler never
turns a committed request into an error: the failure is logged and counted, and the data the
request wrote stays the source of truth (cosmicpython's message bus, without commands).

Where handlers run is the runner's business: `InlineRunner` runs them at once (unit tests, the
CLI), `BackgroundRunner` queues them for a worker so the response does not wait for them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


class Runner:
    def submit(self, job: Callable[[], None]) -> None:
        raise NotImplementedError

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every submitted job has run (tests, shutdown); False if it timed out."""
        return True


class InlineRunner(Runner):
    def submit(self, job: Callable[[], None]) -> None:
        job()


class BackgroundRunner(Runner):
    """One daemon worker (a greenlet under gevent's patched threading) and a bounded queue.

    When the queue is full the job runs on the caller instead of being dropped: back-pressure on a
    request beats losing a follower's notification.
    """

    def __init__(self, capacity: int = 10_000, name: str = "parley-messagebus"):
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue(maxsize=capacity)
        self._name = name
        self._started = False
        self._start_lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        self._ensure_worker()
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            job()

    def drain(self, timeout: float = 5.0) -> bool:
        done = threading.Event()
        self.submit(done.set)
        return done.wait(timeout)

    def _ensure_worker(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                threading.Thread(target=self._work, name=self._name, daemon=True).start()
                self._started = True

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            job()


@dataclass
class MessageBus:
    handlers: Mapping[type, Sequence[Handler]] = field(default_factory=dict)
    runner: Runner = field(default_factory=InlineRunner)
    # Called with (handler name, event) when a handler raised; the container counts it in a metric.
    on_failure: Callable[[str, Any], None] = lambda name, event: None

    def handle(self, events: Iterable[Any]) -> None:
        for event in events:
            for handler in self.handlers.get(type(event), ()):
                self.runner.submit(self._job(handler, event))

    def _job(self, handler: Handler, event: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                handler(event)
            except Exception:
                name = getattr(handler, "__qualname__", repr(handler))
                log.exception("message bus handler %s failed for %s", name, type(event).__name__)
                self.on_failure(name, event)

        return run


def merge_handlers(*tables: Mapping[type, Sequence[Handler]]) -> dict[type, list[Handler]]:
    """Each context contributes its own table; the container merges them into the one bus."""
    merged: dict[type, list[Handler]] = {}
    for table in tables:
        for event_type, handlers in table.items():
            merged.setdefault(event_type, []).extend(handlers)
    return merged
