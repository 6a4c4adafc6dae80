"""A server told to stop (SIGTERM under gunicorn) drains: /readyz 503, new websocket upgrades 503
(a balancer passes them to the next server), open sockets closed with 1012 so clients reconnect."""

from __future__ import annotations

import threading

import pytest

from container import Container
from entrypoints import draining
from entrypoints.http.app import create_app
from entrypoints.ws import restart
from entrypoints.ws.connection import Connection
from tests.unit.http.test_client_input import WS_KEY, WS_UPGRADE
from tests.unit.ws.test_subscriptions import FakeSocket, wait_for


@pytest.fixture
def client(monkeypatch):
    # The draining state is process-wide: each test gets its own, before the app registers with it.
    monkeypatch.setattr(draining, "_draining", threading.Event())
    monkeypatch.setattr(draining, "_on_drain", [])
    container = Container()
    app = create_app({"profile": "memory", "auth": "dev", "grants": "open"}, container)
    yield app.test_client()
    container.unwire()


def test_readyz_is_503_with_retry_after_once_draining_begins(client):
    assert client.get("/readyz").status_code == 200
    draining.begin_draining()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert r.get_json() == {"status": "unavailable", "checks": {"server": {"status": "down", "error": "draining"}}}


def test_a_websocket_upgrade_is_refused_with_503_while_http_requests_are_still_served(client):
    draining.begin_draining()
    r = client.get("/ws?user=7", headers={**WS_UPGRADE, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": WS_KEY})
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.get_json()["error"]["code"] == "server_restarting"
    assert client.get("/forum/items/1/participant/7/thread", headers={"X-Parley-User": "7"}).status_code == 200


def test_open_sockets_are_closed_with_1012_and_one_opened_during_the_drain_too(client):
    ws, late_ws = FakeSocket(), FakeSocket()
    conn = Connection(ws)
    untrack = restart.track(conn)
    draining.begin_draining()
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == restart.CLOSE_SERVICE_RESTART == 1012
    untrack()
    late = Connection(late_ws)
    restart.track(late)
    wait_for(lambda: late_ws.closed_with is not None)
    assert late_ws.closed_with[0] == 1012


def test_draining_twice_runs_the_callbacks_once(client):
    calls = []
    draining.on_drain(lambda: calls.append(1))
    draining.begin_draining()
    draining.begin_draining()
    assert calls == [1]
