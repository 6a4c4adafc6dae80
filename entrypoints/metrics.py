"""Prometheus metrics shared by the HTTP and websocket entrypoints, served at /metrics.

They live in one registry made once per process: the app factory may run many times (every test
builds an app), and prometheus-client refuses to register the same metric name twice. Under gunicorn
each worker has its own registry, so a scrape sees the worker that answered it.
"""

from __future__ import annotations

import itertools
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from prometheus_client.core import CounterMetricFamily

REGISTRY = CollectorRegistry(auto_describe=True)
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
WS_OPEN = Gauge("parley_websockets_open", "Websocket connections open in this process", registry=REGISTRY)
EVENTS_PUBLISHED = Counter(
    "parley_events_published", "Events handed to the notifier for live delivery", registry=REGISTRY
)
class HotPathCounter:
    """A counter for paths taken once per delivered frame. prometheus_client's Counter takes a lock
    on every inc(), which cost 17% of a websocket worker delivering to 1,000 subscribers under gevent
    (docs/performance.md); `next()` on an itertools.count is atomic under the GIL and takes none."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry):
        self._ticks = itertools.count()
        self._reads = 0
        self._read_lock = threading.Lock()
        self._name, self._documentation = name, documentation
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


EVENTS_DELIVERED = HotPathCounter(
    "parley_events_delivered", "Event frames queued to a subscribed websocket", registry=REGISTRY
)
LIVE_SUBSCRIPTIONS = Gauge(
    "parley_live_subscriptions", "Thread subscriptions held by this process's websockets", registry=REGISTRY
)

UNMATCHED_ROUTE = "<unmatched>"


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


__all__ = [
    "EVENTS_DELIVERED",
    "EVENTS_PUBLISHED",
    "HTTP_REQUEST_SECONDS",
    "LIVE_SUBSCRIPTIONS",
    "REGISTRY",
    "UNMATCHED_ROUTE",
    "WS_OPEN",
    "render",
]
