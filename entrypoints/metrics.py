"""Prometheus metrics shared by the HTTP and websocket entrypoints, served at /metrics.

They live in one registry made once per process: the app factory may run many times (every test
builds an app), and prometheus-client refuses to register the same metric name twice. Under gunicorn
each worker has its own registry, so a scrape sees the worker that answered it.
"""

from __future__ import annotations

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
EVENTS_DELIVERED = Counter(
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
