"""Credentials on a real server's websocket (issue 11, defects 2, 4 and 11a): PostgreSQL grant
tables, Redis fan-out, JWTs, Parley's thread tokens, and `parley grants recheck` from another process."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest

from tests.support.clients import WsClient, http
from tests.support.live_server import run_cli, start_server

pytestmark = pytest.mark.integration
SECRET = "integration-secret-" + "y" * 40
ITEM, OTHER_ITEM, PARTICIPANT, HELPER, HELPERS = 7100, 7101, 7001, 7011, 7050
THREAD = f"/forum/items/{ITEM}/participant/{PARTICIPANT}/thread"
GRANTS = {
    "memberships": [{"group_id": HELPERS, "member_id": HELPER}],
    "item_permissions": [
        {"group_id": PARTICIPANT, "item_id": ITEM, "can_view": "content", "can_request_help_to": [HELPERS]},
        {"group_id": PARTICIPANT, "item_id": OTHER_ITEM, "can_view": "content", "can_request_help_to": [HELPERS]},
        {"group_id": HELPERS, "item_id": ITEM, "can_view": "content", "can_watch": "result"},
    ],
    "validated": [{"user_id": HELPER, "item_id": ITEM}],
}


def token(user: int, ttl: float = 3600, **extra) -> str:
    return jwt.encode({"sub": str(user), "exp": time.time() + ttl, **extra}, SECRET, algorithm="HS256")


def auth(user: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user)}"}


@pytest.fixture(scope="module")
def server(postgres_url, redis_url, tmp_path_factory):
    env = {
        "PARLEY_PROFILE": "postgres",
        "PARLEY_DATABASE_URL": postgres_url,
        "PARLEY_AUTH": "jwt",
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_GRANTS": "tables",
        "PARLEY_FANOUT": "redis",
        "PARLEY_REDIS_URL": redis_url,
        "PARLEY_REDIS_CHANNEL_PREFIX": f"parley-test-{uuid.uuid4().hex[:10]}:",
        "PARLEY_WRITE_RATE_LIMIT": "100000/minute",
        "PARLEY_RATE_LIMIT_STORAGE_URL": "memory://",
    }
    folder = tmp_path_factory.mktemp("grants")
    grants_file = folder / "grants.json"
    grants_file.write_text(json.dumps(GRANTS))
    run_cli(env, "db", "upgrade")
    run_cli(env, "grants", "import", str(grants_file))
    server = start_server(env, folder)
    status, body, _ = http("PUT", server.url + THREAD, {"status": "waiting_for_trainer",
                                                       "helper_group_id": str(HELPERS)}, auth(PARTICIPANT))
    assert status == 200, body
    yield server, env
    server.stop()


def connect(server, credential: str) -> WsClient:
    client = WsClient(f"{server.ws_url}?token={credential}")
    assert client.recv()["type"] == "ready"
    return client


def subscribe(client: WsClient, item: int = ITEM, sub_id: str = "s1") -> dict:
    client.send({"action": "subscribe", "id": sub_id, "item_id": str(item), "participant_id": str(PARTICIPANT)})
    return client.recv_until(lambda f: f["type"] in ("subscribed", "error") and f.get("id") == sub_id)


def post(server, text: str) -> None:
    status, body, _ = http("POST", server.url + THREAD + "/messages", {"text": text, "uuid": uuid.uuid4().hex},
                           auth(PARTICIPANT))
    assert status == 201, body


def test_a_user_token_closes_its_socket_at_its_exp(server):
    server, _ = server
    exp_in = 2.0
    client = connect(server, token(PARTICIPANT, ttl=exp_in))
    opened = time.monotonic()
    assert subscribe(client)["type"] == "subscribed"
    assert client.close_code(timeout=10) == 4401
    assert exp_in - 0.5 <= time.monotonic() - opened <= exp_in + 1.5


@pytest.mark.parametrize("bad_exp", ["NaN", "Infinity"])
def test_a_token_whose_exp_is_not_a_finite_time_is_refused_with_4401(server, bad_exp):
    server, _ = server
    forged = jwt.encode({"sub": str(PARTICIPANT), "exp": float(bad_exp.replace("Infinity", "inf"))}, SECRET, "HS256")
    client = WsClient(f"{server.ws_url}?token={forged}")
    assert client.recv()["code"] == "unauthenticated"
    assert client.close_code() == 4401


def test_a_thread_token_socket_hears_its_thread_only(server):
    server, _ = server
    status, body, _ = http("GET", server.url + THREAD, None, auth(PARTICIPANT))
    assert status == 200
    by_token, by_user = connect(server, body["token"]), connect(server, token(PARTICIPANT))
    try:
        assert subscribe(by_token, OTHER_ITEM, "s2")["code"] == "forbidden"
        assert subscribe(by_token)["type"] == "subscribed"
        # Not watching the thread live any more, so the participant (a follower) gets a notification.
        by_token.send({"action": "unsubscribe", "id": "u", "item_id": str(ITEM), "participant_id": str(PARTICIPANT)})
        assert by_token.recv_until(lambda f: f["type"] == "unsubscribed")["found"] is True
        status, _, _ = http("POST", server.url + THREAD + "/messages", {"text": "from the helper", "uuid": "h1"},
                            auth(HELPER))
        assert status == 201
        pushed = by_user.recv_until(lambda f: "notification" in f)
        assert pushed["notification"]["event"]["text"] == "from the helper"
        with pytest.raises(TimeoutError):
            by_token.recv_until(lambda f: "notification" in f, timeout=1.5)
    finally:
        by_token.close()
        by_user.close()


@pytest.mark.parametrize("command", ["recheck", "import"])
def test_a_removed_helper_stops_receiving_once_a_recheck_is_published(server, postgres_url, tmp_path, command):
    import psycopg

    server, env = server
    db_url = postgres_url.replace("postgresql+psycopg", "postgresql")
    membership = (HELPERS, HELPER)
    with psycopg.connect(db_url, autocommit=True) as db:
        db.execute("INSERT INTO group_memberships (parent_group_id, child_group_id) VALUES (%s, %s) "
                   "ON CONFLICT DO NOTHING", membership)
    client = connect(server, token(HELPER))
    try:
        assert subscribe(client)["type"] == "subscribed"
        post(server, "before")
        assert client.recv_until(lambda f: f["type"] == "event")["event"]["text"] == "before"
        with psycopg.connect(db_url, autocommit=True) as db:
            db.execute("DELETE FROM group_memberships WHERE parent_group_id = %s AND child_group_id = %s",
                       membership)
        assert http("GET", server.url + THREAD, None, auth(HELPER))[0] == 403
        started = time.monotonic()
        if command == "recheck":
            run_cli(env, "grants", "recheck")
        else:  # an import that does not name the removed membership
            other = tmp_path / "other.json"
            other.write_text(json.dumps({"validated": [{"user_id": HELPER, "item_id": OTHER_ITEM}]}))
            run_cli(env, "grants", "import", str(other))
        refused = client.recv_until(lambda f: f.get("code") == "forbidden", timeout=10)
        assert refused["id"] == "s1"
        # Well inside the 30 s periodic bound: the published re-check did it.
        assert time.monotonic() - started < 10
        post(server, "after")
        with pytest.raises(TimeoutError):
            client.recv_until(lambda f: f["type"] == "event", timeout=1.5)
    finally:
        client.close()


def test_a_service_token_socket_subscribes_to_nothing(server):
    server, _ = server
    service = jwt.encode({"scope": "forum:events", "exp": time.time() + 60}, SECRET, algorithm="HS256")
    client = connect(server, service)
    try:
        assert subscribe(client)["code"] == "forbidden"
    finally:
        client.close()
