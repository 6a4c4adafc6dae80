"""Live delivery across two server processes sharing Redis, on the postgres and aws profiles.

Real PostgreSQL, DynamoDB Local and Redis; real HTTP and websocket clients (DESIGN.md §5).
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from tests.support.clients import WsClient, http
from tests.support.live_server import run_cli, start_server

pytestmark = pytest.mark.integration
SECRET = "integration-secret-" + "x" * 40


def token(user: int) -> str:
    return jwt.encode({"sub": str(user), "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


def auth(user: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user)}"}


@pytest.fixture(scope="module", params=["postgres", "aws"])
def profile_env(request, redis_url):
    redis_prefix = f"parley-test-{uuid.uuid4().hex[:10]}:"  # parallel runs on one Redis never meet
    env = {
        "PARLEY_AUTH": "jwt",
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_GRANTS": "open",
        "PARLEY_FANOUT": "redis",
        "PARLEY_REDIS_URL": redis_url,
        "PARLEY_REDIS_CHANNEL_PREFIX": redis_prefix,
        "PARLEY_WRITE_RATE_LIMIT": "100000/minute",
        "PARLEY_RATE_LIMIT_STORAGE_URL": "memory://",
    }
    if request.param == "postgres":
        env |= {"PARLEY_PROFILE": "postgres", "PARLEY_DATABASE_URL": request.getfixturevalue("postgres_url")}
        _cli(env, "db", "upgrade")
    else:
        env |= {
            "PARLEY_PROFILE": "aws",
            "PARLEY_DYNAMODB_ENDPOINT_URL": request.getfixturevalue("dynamodb_endpoint"),
            "PARLEY_DYNAMODB_TABLE_PREFIX": f"it{uuid.uuid4().hex[:8]}_",
        }
        _cli(env, "dynamodb", "create-tables")
    return env


def _cli(env: dict[str, str], *args: str) -> None:
    run_cli(env, *args)


@pytest.fixture(scope="module")
def two_servers(profile_env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("fanout")
    servers = [start_server(profile_env, logs), start_server(profile_env, logs)]
    yield servers
    for server in servers:
        server.stop()


def _open(server, item: int, user: int = 1) -> None:
    status, body, _ = http(
        "PUT",
        f"{server.url}/forum/items/{item}/participant/{user}/thread",
        {"status": "waiting_for_trainer", "helper_group_id": "5"},
        auth(user),
    )
    assert status == 200, body


def _post(server, item: int, text: str, uuid_: str, user: int = 1) -> dict:
    status, body, _ = http(
        "POST",
        f"{server.url}/forum/items/{item}/participant/{user}/thread/messages",
        {"text": text, "uuid": uuid_},
        auth(user),
    )
    assert status == 201, body
    return body["data"]


def _subscribe(client: WsClient, item: int, since: str | None = None, user: int = 1) -> dict:
    frame = {
        "action": "subscribe",
        "id": "s",
        "topic": "forum.thread",
        "item_id": str(item),
        "participant_id": str(user),
    }
    if since:
        frame["since"] = since
    client.send(frame)
    return client.recv_until(lambda f: f["type"] in ("subscribed", "error"))


def _connect(server, user: int = 1) -> WsClient:
    client = WsClient(f"{server.ws_url}?token={token(user)}")
    assert client.recv()["type"] == "ready"
    return client


def test_a_message_posted_to_one_server_reaches_a_subscriber_on_the_other(two_servers):
    a, b = two_servers
    item = 501
    _open(a, item)
    client = _connect(b)
    try:
        assert _subscribe(client, item)["type"] == "subscribed"
        posted = _post(a, item, "across processes", "x1")
        frame = client.recv_until(lambda f: f["type"] == "event", timeout=10)
        assert frame["event"] == posted
    finally:
        client.close()


def test_a_subscriber_cut_off_midway_resumes_with_its_cursor_and_sees_every_event_once(two_servers):
    a, b = two_servers
    item, total = 502, 1000
    _open(a, item)
    seen: list[str] = []
    client = _connect(b)
    reply = _subscribe(client, item)
    cursor = reply["cursor"]
    import threading

    def poster():
        for i in range(total):
            _post(a, item, f"m{i}", f"m{i}")

    posting = threading.Thread(target=poster)
    posting.start()
    try:
        while len(seen) < total // 3:
            frame = client.recv_until(lambda f: f["type"] == "event", timeout=20)
            seen.append(frame["event"]["uuid"])
            cursor = frame["event"]["cursor"]
        client.ws.socket.close()  # cut off without a goodbye, as a dropped network would
        client = _connect(b)
        reply = _subscribe(client, item, since=cursor)
        seen += [e["uuid"] for e in reply["events"]]
        while len(seen) < total:
            frame = client.recv_until(lambda f: f["type"] == "event", timeout=20)
            seen.append(frame["event"]["uuid"])
    finally:
        posting.join()
        client.close()
    assert sorted(seen, key=lambda u: int(u[1:])) == [f"m{i}" for i in range(total)]
    assert len(seen) == len(set(seen)) == total


def test_expired_and_invalid_tokens_are_refused(two_servers):
    a, _ = two_servers
    expired = jwt.encode({"sub": "1", "exp": int(time.time()) - 600}, SECRET, algorithm="HS256")
    forged = jwt.encode({"sub": "1", "exp": int(time.time()) + 600}, "another-secret-" + "y" * 40, algorithm="HS256")
    for bad in (expired, forged, "garbage"):
        client = WsClient(f"{a.ws_url}?token={bad}")
        frame = client.recv()
        assert frame["type"] == "error" and frame["code"] == "unauthenticated"
        assert client.close_code() == 4401


def test_a_dead_client_subscription_is_removed(two_servers):
    a, b = two_servers
    item = 503
    _open(a, item)
    client = _connect(b)
    _subscribe(client, item)
    assert _gauge(b, "parley_live_subscriptions") == 1
    client.ws.socket.close()
    _post(a, item, "anyone there?", "ping-dead")
    deadline = time.monotonic() + 10
    while _gauge(b, "parley_live_subscriptions") != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gauge(b, "parley_live_subscriptions") == 0
    assert _gauge(b, "parley_websockets_open") == 0


def test_a_reader_without_permission_cannot_subscribe(two_servers):
    a, b = two_servers
    _open(a, 504)
    client = _connect(b, user=2)
    try:
        reply = _subscribe(client, 504)
        assert reply["type"] == "error" and reply["code"] == "forbidden"
    finally:
        client.close()


def _gauge(server, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")
