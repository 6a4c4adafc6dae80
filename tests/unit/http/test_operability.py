"""Operability: /healthz, /readyz, /metrics, request ids, structured logs without secrets."""

from __future__ import annotations

import json
import logging
import time

import pytest
from dependency_injector import providers

from adapters.memory.health import AlwaysReady
from adapters.notify.redis_health import RedisHealthCheck
from container import Container, resolve_settings
from entrypoints import metrics
from entrypoints.http.app import create_app
from entrypoints.logs import redact_secrets, render
from tests.support.apps import fresh_app
from tests.support.live_server import free_port

ITEM, USER = 10, 7
THREAD = f"/forum/items/{ITEM}/participant/{USER}/thread"
SECRET = "secret-token-value"


class Failing:
    name = "sql"

    def check(self) -> None:
        raise ConnectionRefusedError("postgresql://parley:hunter2@db:5432 refused")


class Slow:
    name = "dynamodb"

    def check(self) -> None:
        time.sleep(3)


@pytest.fixture
def make_app():
    """A test's first app is the reused one (tests/support/apps.py); any more are apps of their own."""
    containers = []

    def make(checks=None, **settings):
        settings = {"profile": "memory", "auth": "dev", "grants": "open", **settings}

        def configure(container):
            if checks is not None:
                container.core.health_checks.override(providers.List(*[providers.Object(c) for c in checks]))

        if not containers:
            containers.append(None)
            return fresh_app(settings, configure)
        container = Container()
        containers.append(container)
        configure(container)
        return create_app(settings, container)

    yield make
    for container in containers[1:]:
        container.unwire()


def request_lines(caplog) -> list[dict]:
    lines = []
    for record in caplog.records:
        if record.name == "parley.http":
            entry = json.loads(render(record))
            if entry.get("event") == "request":
                lines.append(entry)
    return lines


def test_healthz_needs_no_credentials(make_app):
    response = make_app().test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_every_configured_backend(make_app):
    response = make_app().test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["checks"]["memory"]["status"] == "up"


def test_readyz_is_503_with_retry_after_when_a_backend_is_down(make_app):
    client = make_app(checks=[AlwaysReady("memory"), Failing()]).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["memory"]["status"] == "up"
    assert body["checks"]["sql"] == {"status": "down", "error": "ConnectionRefusedError"}
    assert "hunter2" not in response.get_data(as_text=True)
    # Liveness is another question: the process is fine.
    assert client.get("/healthz").status_code == 200


def test_readyz_gives_up_on_a_hanging_backend(make_app):
    client = make_app(checks=[Slow()], ready_timeout="0.3").test_client()
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.get_json()["checks"]["dynamodb"] == {"status": "down", "error": "timeout"}


def test_the_server_profiles_probe_redis():
    container = Container()
    container.config.from_dict(resolve_settings({"profile": "memory", "fanout": "redis"}))
    names = [c.name for c in container.core.health_checks() if c is not None]
    assert names == ["memory", "redis"]
    container = Container()
    container.config.from_dict(resolve_settings({"profile": "memory"}))
    assert [c.name for c in container.core.health_checks() if c is not None] == ["memory"]


def test_redis_probe_fails_fast_when_nothing_listens():
    check = RedisHealthCheck(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 (redis raises its own ConnectionError)
        check.check()
    assert time.monotonic() - started < 2


def _sample(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        named = line.startswith(name + "{") or line.startswith(name + " ")
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_per_route_not_per_path(make_app):
    client = make_app().test_client()
    rule = "/forum/items/<item_id>/participant/<participant_id>/thread"
    before = client.get("/metrics").get_data(as_text=True)
    count = "parley_http_request_duration_seconds_count"
    start = _sample(before, count, route=rule, method="GET", status="200") or 0
    for participant in (7, 8, 9):
        client.get(f"/forum/items/{ITEM}/participant/{participant}/thread", headers={"X-Parley-User": str(participant)})
    client.get(THREAD)  # 401
    client.get("/no/such/route")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _sample(text, count, route=rule, method="GET", status="200") == start + 3
    assert _sample(text, count, route=rule, method="GET", status="401") >= 1
    assert _sample(text, count, route=metrics.UNMATCHED_ROUTE, method="GET", status="404") >= 1
    assert "participant/7/" not in text, "raw paths must not become labels"
    assert _sample(text, "parley_http_request_duration_seconds_bucket", route=rule, le="+Inf") is not None
    for name in ("parley_websockets_open", "parley_events_published_total", "parley_events_delivered_total"):
        assert _sample(text, name) is not None, name


def test_websocket_metrics_are_shared_by_every_app(make_app):
    first, second = make_app().test_client(), make_app().test_client()
    metrics.WS_OPEN.inc()
    metrics.EVENTS_PUBLISHED.inc(2)
    try:
        one = first.get("/metrics").get_data(as_text=True)
        two = second.get("/metrics").get_data(as_text=True)
        assert _sample(one, "parley_websockets_open") == _sample(two, "parley_websockets_open") >= 1
        assert _sample(one, "parley_events_published_total") >= 2
    finally:
        metrics.WS_OPEN.dec()


def test_one_json_log_line_per_request(make_app, caplog):
    caplog.set_level(logging.INFO, logger="parley")
    client = make_app().test_client()
    response = client.get(THREAD, headers={"X-Parley-User": str(USER), "X-Request-Id": "req-42.a"})
    assert response.headers["X-Request-Id"] == "req-42.a"
    [line] = request_lines(caplog)
    assert line["method"] == "GET" and line["status"] == 200 and line["user_id"] == str(USER)
    assert line["route"] == "/forum/items/<item_id>/participant/<participant_id>/thread"
    assert line["request_id"] == "req-42.a" and line["level"] == "info"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 200, "inject\\nline", "<script>", "-leading"])
def test_an_insane_request_id_is_replaced(make_app, caplog, incoming):
    caplog.set_level(logging.INFO, logger="parley")
    response = make_app().test_client().get("/healthz", headers={"X-Request-Id": incoming} if incoming else {})
    generated = response.headers["X-Request-Id"]
    assert generated != incoming and len(generated) == 32 and generated.isalnum()
    assert request_lines(caplog)[-1]["request_id"] == generated


def test_request_ids_differ_between_requests(make_app):
    client = make_app().test_client()
    assert client.get("/healthz").headers["X-Request-Id"] != client.get("/healthz").headers["X-Request-Id"]


@pytest.mark.parametrize("auth", ["dev", "jwt"])
def test_tokens_never_reach_the_logs(make_app, caplog, capfd, auth):
    caplog.set_level(logging.DEBUG)
    settings = {"auth": auth}
    if auth == "jwt":
        settings["jwt_secret"] = "a-development-secret-of-at-least-32-bytes"
    client = make_app(**settings).test_client()
    headers = {"Authorization": f"Bearer {SECRET}", "X-Parley-User": str(USER)}
    client.get(f"{THREAD}?token=secret", headers=headers)
    client.put(f"{THREAD}/follow?token=secret", headers=headers)
    client.get(f"/ws?token={SECRET}", headers=headers)
    client.get(f"/nowhere?access_token={SECRET}", headers=headers)
    out, err = capfd.readouterr()
    captured = caplog.text + out + err
    assert len(request_lines(caplog)) == 4
    assert SECRET not in captured and "token=secret" not in captured and "Bearer" not in captured


def test_the_redaction_processor_scrubs_careless_fields():
    event = redact_secrets(
        None,
        "info",
        {
            "event": "calling upstream",
            "authorization": "Bearer abc.def.ghi",
            "token": "abc.def.ghi",
            "url": "https://example.invalid/ws?token=abc.def.ghi&x=1",
            "note": "sent Bearer abc.def.ghi along",
            "count": 3,
        },
    )
    assert "abc.def.ghi" not in json.dumps(event)
    assert event["count"] == 3 and event["url"].endswith("&x=1")


def test_the_hot_path_counter_counts_exactly_under_threads():
    import threading

    from prometheus_client import CollectorRegistry, generate_latest

    from entrypoints.metrics import HotPathCounter

    registry = CollectorRegistry()
    counter = HotPathCounter("test_hot", "a test counter", registry)
    threads = [threading.Thread(target=lambda: [counter.inc() for _ in range(10_000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value() == 40_000 and counter.value() == 40_000
    assert "test_hot_total 40000.0" in generate_latest(registry).decode()


def test_metrics_are_for_this_machine_unless_a_token_is_configured(make_app):
    open_app = make_app().test_client()
    assert open_app.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    far = {"REMOTE_ADDR": "192.0.2.10"}  # a documentation address, only ever a WSGI environ value here
    refused = open_app.get("/metrics", environ_base=far)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"

    guarded = make_app(metrics_token="scrape-secret-123").test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = guarded.get("/metrics", headers=headers, environ_base=far)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        guarded.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"}, environ_base=far).status_code
        == 200
    )
    assert guarded.get("/metrics").status_code == 401  # with a token, loopback needs it too
