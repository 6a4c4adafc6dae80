"""Limits: body size (413, chunked too), JSON only (415), page sizes, and the per-user write rate limit (429)."""

from __future__ import annotations

import io
import json

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from container import Container, rate_limit_storage_uri, resolve_settings
from entrypoints.http.app import MAX_BODY_BYTES, create_app
from tests.support.apps import fresh_app

ITEM = 10


def thread(uid: int) -> str:
    return f"/forum/items/{ITEM}/participant/{uid}/thread"


def as_user(uid: int) -> dict[str, str]:
    return {"X-Parley-User": str(uid)}


@pytest.fixture
def make_client():
    """A test's first app is the reused one (tests/support/apps.py); any more are apps of their own."""
    containers = []

    def make(**settings):
        settings = {"profile": "memory", "auth": "dev", "grants": "open", **settings}
        if not containers:
            containers.append(None)
            return fresh_app(settings).test_client()
        container = Container()
        containers.append(container)
        return create_app(settings, container).test_client()

    yield make
    for container in containers[1:]:
        container.unwire()


def assert_envelope(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == code and isinstance(body["message"], str)
    return body


def test_writes_over_the_limit_get_429_with_retry_after(make_client):
    client = make_client(write_rate_limit="3/minute")
    for _ in range(3):
        assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200
    limited = client.put(f"{thread(7)}/follow", headers=as_user(7))
    body = assert_envelope(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert body["error"]["details"]["limit"] == ["3 per 1 minute"]
    assert limited.headers["X-Request-Id"]
    # Every write method shares the one budget.
    assert client.delete(f"{thread(7)}/follow", headers=as_user(7)).status_code == 429
    assert client.post(f"{thread(7)}/messages", headers=as_user(7), json={"text": "hi"}).status_code == 429


def test_reads_are_not_limited(make_client):
    client = make_client(write_rate_limit="2/minute")
    for _ in range(2):
        client.put(f"{thread(7)}/follow", headers=as_user(7))
    assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 429
    for _ in range(20):
        assert client.get(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200
        assert client.get(thread(7), headers=as_user(7)).status_code == 200


def test_the_limit_is_per_user(make_client):
    client = make_client(write_rate_limit="2/minute")
    for _ in range(2):
        assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200
    assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 429
    # Same address, another user: a fresh budget.
    for _ in range(2):
        assert client.put(f"{thread(8)}/follow", headers=as_user(8)).status_code == 200
    assert client.put(f"{thread(8)}/follow", headers=as_user(8)).status_code == 429


def test_unauthenticated_writes_are_401_not_counted_against_a_user(make_client):
    client = make_client(write_rate_limit="1/minute")
    for _ in range(3):
        assert_envelope(client.put(f"{thread(7)}/follow"), 401, "unauthenticated")
    assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200


def test_each_app_counts_on_its_own_in_memory(make_client):
    first = make_client(write_rate_limit="1/minute")
    assert first.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200
    second = make_client(write_rate_limit="1/minute")
    assert second.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200


def test_the_limit_can_be_switched_off(make_client):
    client = make_client(write_rate_limit="off")
    for _ in range(30):
        assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200


def test_reads_over_the_read_limit_get_429_with_retry_after(make_client):
    client = make_client(read_rate_limit="3/minute", write_rate_limit="off")
    for path in (thread(7), f"{thread(7)}/follow", "/forum/threads?is_mine=1"):
        assert client.get(path, headers=as_user(7)).status_code == 200
    limited = client.get(thread(7), headers=as_user(7))
    body = assert_envelope(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert body["error"]["details"] == {"limit": ["3 per 1 minute"], "method": ["GET"]}
    # One budget per user; writes have their own, and probes are never limited.
    assert client.get(thread(8), headers=as_user(8)).status_code == 200
    assert client.put(f"{thread(7)}/follow", headers=as_user(7)).status_code == 200
    for path in ("/healthz", "/readyz", "/openapi.json"):
        for _ in range(4):
            assert client.get(path, headers=as_user(7)).status_code == 200, path


def test_the_read_limit_can_be_switched_off_and_defaults_to_600_a_minute(make_client):
    assert resolve_settings({"profile": "memory"})["read_rate_limit"] == "600/minute"
    client = make_client(read_rate_limit="off")
    for _ in range(30):
        assert client.get(thread(7), headers=as_user(7)).status_code == 200
    with pytest.raises(ValueError):
        create_app({"profile": "memory", "auth": "dev", "read_rate_limit": "many"}, Container())


def test_a_malformed_limit_stops_the_start():
    with pytest.raises(ValueError):
        create_app({"profile": "memory", "auth": "dev", "write_rate_limit": "lots per fortnight"}, Container())


def test_the_default_limit_and_where_it_is_counted():
    assert resolve_settings({"profile": "memory"})["write_rate_limit"] == "120/minute"
    assert rate_limit_storage_uri(resolve_settings({"profile": "memory"})) == "memory://"
    assert rate_limit_storage_uri(resolve_settings({"profile": "embedded"})) == "memory://"
    for profile in ("postgres", "algorea", "aws"):
        settings = resolve_settings({"profile": profile, "auth": "jwt", "redis_url": "redis://cache:6379/2"})
        assert rate_limit_storage_uri(settings) == "redis://cache:6379/2"
    explicit = {"profile": "aws", "auth": "jwt", "rate_limit_storage_url": "memory://"}
    assert rate_limit_storage_uri(resolve_settings(explicit)) == "memory://"


def test_a_body_over_64_kib_is_a_json_413(make_client):
    client = make_client()
    client.put(thread(7), headers=as_user(7), json={"status": "waiting_for_trainer", "helper_group_id": "5"})
    body = json.dumps({"text": "x" * MAX_BODY_BYTES}).encode()
    response = client.post(f"{thread(7)}/messages", headers=as_user(7), data=body, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def chunked_post(client, path: str, uid: int, body: bytes):
    """POST `body` as a server hands a de-chunked upload to the app: no Content-Length, read to the end."""
    environ = EnvironBuilder(
        path=path, method="POST", headers={**as_user(uid), "Transfer-Encoding": "chunked"},
        content_type="application/json", input_stream=io.BytesIO(body),
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    # Straight to the WSGI callable: the test client would put a Content-Length back.
    app_iter, status, headers = run_wsgi_app(client.application, environ, buffered=True)
    return client.application.response_class(b"".join(app_iter), status=status, headers=headers)


def test_a_chunked_body_over_64_kib_without_content_length_is_a_json_413(make_client):
    client = make_client()
    client.put(thread(7), headers=as_user(7), json={"status": "waiting_for_trainer", "helper_group_id": "5"})
    too_big = json.dumps({"text": "x" * (2 * MAX_BODY_BYTES)}).encode()
    response = chunked_post(client, f"{thread(7)}/messages", 7, too_big)
    assert_envelope(response, 413, "payload_too_large")
    small = chunked_post(client, f"{thread(7)}/messages", 7, json.dumps({"text": "fits", "uuid": "c1"}).encode())
    assert small.status_code == 201, small.get_json()
    assert small.get_json()["data"]["text"] == "fits"


def test_non_json_bodies_are_415(make_client):
    client = make_client()
    response = client.put(
        thread(7), headers=as_user(7), data="status=closed", content_type="application/x-www-form-urlencoded"
    )
    assert_envelope(response, 415, "unsupported_media_type")


def test_messages_over_4000_characters_are_422(make_client):
    client = make_client()
    client.put(thread(7), headers=as_user(7), json={"status": "waiting_for_trainer", "helper_group_id": "5"})
    response = client.post(f"{thread(7)}/messages", headers=as_user(7), json={"text": "x" * 4001})
    assert_envelope(response, 422, "invalid_value")


@pytest.mark.parametrize(
    "path",
    [f"{thread(7)}/messages?limit=21", f"{thread(7)}/events?limit=501", "/forum/threads?is_mine=1&limit=101",
     "/forum/notifications?limit=101", f"{thread(7)}/messages?limit=0"],
)
def test_page_sizes_are_bounded(make_client, path):
    client = make_client()
    body = assert_envelope(client.get(path, headers=as_user(7)), 400, "invalid_request")
    assert "limit" in body["error"]["details"]
