"""Prometheus metrics shared by the HTTP and websocket entrypoints, served at /metrics.

They live in one registry made once per process: the app factory may run many times (every test
builds an app), and prometheus-client refuses to register the same metric name twice.

Under gunicorn, several worker processes answer requests, and a scrape reaches only one of them.
gunicorn.conf.py therefore sets PROMETHEUS_MULTIPROC_DIR before any worker starts, which switches
prometheus_client to its multiprocess mode: every process writes its values to files there, and
/metrics sums the files of all workers (`MultiProcessCollector`), the ones that have exited too
(their counters keep counting in the total). Gauges say how to combine processes
(`multiprocess_mode`); the process and GC collectors only describe the process that answers, so
they are left out in that mode.
"""

from __future__ import annotations

import itertools
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    multiprocess,
    platform_collector,
    process_collector,
    values,
)
from prometheus_client.core import CounterMetricFamily

# Decided by prometheus_client when it was imported, from PROMETHEUS_MULTIPROC_DIR.
MULTIPROCESS = values.ValueClass is not values.MutexValue
HOT_PATH_FLUSH_SECONDS = 1.0

REGISTRY = CollectorRegistry(auto_describe=True)
if not MULTIPROCESS:
    process_collector.ProcessCollector(registry=REGISTRY)
    platform_collector.PlatformCollector(registry=REGISTRY)
    gc_collector.GCCollector(registry=REGISTRY)

# Labelled by the URL rule (`/forum/items/<item_id>/…`), never the raw path: one series per endpoint.
HTTP_REQUEST_SECONDS = Histogram(
    "parley_http_request_duration_seconds",
    "HTTP requests by route, method and status, with their latency",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
# `livesum`: the sum over the processes alive now (an exited worker's sockets are closed).
WS_OPEN = Gauge(
    "parley_websockets_open", "Websocket connections open", registry=REGISTRY, multiprocess_mode="livesum"
)
EVENTS_PUBLISHED = Counter(
    "parley_events_published", "Events handed to the notifier for live delivery", registry=REGISTRY
)
class HotPathCounter:
    """A counter for paths taken once per delivered frame. prometheus_client's Counter takes a lock
    on every inc(), which cost 17% of a websocket worker delivering to 1,000 subscribers under gevent
    (docs/performance.md); `next()` on an itertools.count is atomic under the GIL and takes none.

    In multiprocess mode a custom collector would only show the answering process, so the count is
    instead added to a `shared` Counter (its file) now and then by `flush`: once a second, before a
    scrape, and when a gunicorn worker exits."""

    def __init__(
        self,
        name: str,
        documentation: str,
        registry: CollectorRegistry | None,
        shared: Counter | None = None,
    ):
        self._ticks = itertools.count()
        self._reads = 0
        self._read_lock = threading.Lock()
        self._name, self._documentation = name, documentation
        self._shared, self._flushed = shared, 0
        if registry is not None:
            registry.register(self)

    def inc(self) -> None:
        next(self._ticks)

    def value(self) -> int:
        with self._read_lock:  # every read takes one tick itself; subtract the reads so far
            value = next(self._ticks) - self._reads
            self._reads += 1
            return value

    def collect(self):
        yield CounterMetricFamily(self._name, self._documentation, value=self.value())

    def describe(self):
        return [CounterMetricFamily(self._name, self._documentation)]

    def flush(self) -> None:
        """Add what was counted since the last flush to the shared counter (multiprocess mode)."""
        if self._shared is None:
            return
        with self._read_lock:
            value = next(self._ticks) - self._reads
            self._reads += 1
            delta, self._flushed = value - self._flushed, value
        if delta:
            self._shared.inc(delta)


_DELIVERED = ("parley_events_delivered", "Event frames queued to a subscribed websocket")
if MULTIPROCESS:
    EVENTS_DELIVERED = HotPathCounter(*_DELIVERED, registry=None, shared=Counter(*_DELIVERED, registry=None))
else:
    EVENTS_DELIVERED = HotPathCounter(*_DELIVERED, registry=REGISTRY)
HOT_PATH_COUNTERS = (EVENTS_DELIVERED,)
LIVE_SUBSCRIPTIONS = Gauge(
    "parley_live_subscriptions",
    "Thread subscriptions held by open websockets",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

UNMATCHED_ROUTE = "<unmatched>"


def flush() -> None:
    for counter in HOT_PATH_COUNTERS:
        counter.flush()


def _flush_forever() -> None:
    while True:
        time.sleep(HOT_PATH_FLUSH_SECONDS)
        flush()


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: this process's registry, or every process's files."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    flush()
    registry = CollectorRegistry()  # a new one per scrape, as the files of new workers appear
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


if MULTIPROCESS:
    # A thread under the standard library, a greenlet in a gevent worker (threading is patched first).
    threading.Thread(target=_flush_forever, name="metrics-flush", daemon=True).start()


__all__ = [
    "EVENTS_DELIVERED",
    "EVENTS_PUBLISHED",
    "HTTP_REQUEST_SECONDS",
    "LIVE_SUBSCRIPTIONS",
    "REGISTRY",
    "UNMATCHED_ROUTE",
    "WS_OPEN",
    "flush",
    "render",
]
