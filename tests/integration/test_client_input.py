"""Hostile requests against the production server (gunicorn with gunicorn.conf.py) on SQLite,
PostgreSQL and DynamoDB: never a 5xx, always the JSON error envelope, nothing stored.

Each store fails differently on input it cannot hold (a sequence number past 2^63-1 overflows
SQLite's and PostgreSQL's integers; PostgreSQL refuses NUL in text; a time converted to UTC can
leave the calendar), so the list runs on all three. The first cases are the red team's (issue 11,
defect 8); the rest are what an attacker tries next.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import boto3
import jwt
import pytest
from botocore.config import Config

from adapters.dynamodb.tables import create_tables
from domain.shared import MAX_ID
from tests.support.clients import WsClient
from tests.support.dynamodb import LOCAL_ENV
from tests.support.live_server import run_cli, start_server

pytestmark = pytest.mark.integration
SECRET = "client-input-secret-" + "x" * 40
USER = 7
THREAD = f"/forum/items/1/participant/{USER}/thread"
WS_KEY = base64.b64encode(b"0123456789abcdef").decode()
WS_UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket"}


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def bearer(user: int = USER) -> str:
    return "Bearer " + jwt.encode({"sub": str(user), "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


@dataclass(frozen=True)
class Case:
    """One request; `status` when the answer is known exactly, else any 4xx."""

    method: str
    target: str
    body: bytes | str | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.target[:70]} {sorted(self.headers)[:3]}"


RED_TEAM = [
    Case("GET", f"{THREAD}/events?after=ZTEuOTk5OTk5OTk5OTk5OTk5OTk5OQ", status=400, code="invalid_cursor"),
    Case("GET", f"{THREAD}/events?after={b64(f'e1.{MAX_ID + 1}')}", status=400, code="invalid_cursor"),
    Case("GET", f"{THREAD}/messages?before=ZTEuOTk5OTk5OTk5OTk5OTk5OTk5OQ", status=400, code="invalid_cursor"),
    Case("GET", f"{THREAD}/messages?before={b64(f'e1.{MAX_ID + 1}')}", status=400, code="invalid_cursor"),
    Case("GET", "/forum/threads?is_mine=1&latest_update_gt=0001-01-01T00:00:00%2B01:00", status=400),
    Case("GET", "/forum/threads?is_mine=1&latest_update_gt=9999-12-31T23:59:59-01:00", status=400),
    Case("GET", f"/forum/threads?is_mine=1&from={b64('k1|0001-01-01T00:00:00+01:00|1|7')}", status=400,
         code="invalid_cursor"),
    Case("GET", f"/forum/threads?is_mine=1&from={b64('k1|9999-12-31T23:59:59-01:00|1|7')}", status=400,
         code="invalid_cursor"),
    Case("GET", f"/forum/threads?is_mine=1&from={b64(f'k1|2020-01-01T00:00:00+00:00|{MAX_ID + 1}|7')}",
         status=400, code="invalid_cursor"),
    Case("DELETE", f"{THREAD}/messages/%00", status=400, code="invalid_request"),
    Case("PUT", f"{THREAD}/messages/%00", {"text": "edited"}, status=400, code="invalid_request"),
    Case("DELETE", f"{THREAD}/messages/a%00b", status=400, code="invalid_request"),
    Case("GET", "/ws", headers={**WS_UPGRADE, "Sec-WebSocket-Version": "13"}, status=400),
    Case("GET", "/ws", headers={**WS_UPGRADE, "Sec-WebSocket-Key": WS_KEY}, status=400),
    Case("GET", "/ws", headers={**WS_UPGRADE, "Sec-WebSocket-Key": WS_KEY, "Sec-WebSocket-Version": "8"},
         status=426, code="upgrade_required"),
    # gunicorn's own refusals: the request line and headers over its limits (gunicorn.conf.py).
    Case("GET", f"{THREAD}?pad={'a' * 9000}", status=414, code="uri_too_long"),
    Case("GET", THREAD, headers={"X-Pad": "a" * 9000}, status=431, code="request_header_fields_too_large"),
    Case("GET", THREAD, headers={f"X-Pad-{i}": "a" for i in range(120)}, status=431),
]

ATTACKER = [
    # ids: positive signed 64-bit integers in ASCII decimal
    Case("GET", "/forum/items/99999999999999999999/participant/7/thread", status=400),
    Case("GET", f"/forum/items/{MAX_ID + 1}/participant/7/thread", status=400),
    Case("GET", "/forum/items/-1/participant/7/thread", status=400),
    Case("GET", "/forum/items/0/participant/7/thread", status=400),
    Case("GET", "/forum/items/%D9%A1/participant/7/thread", status=400),
    Case("GET", "/forum/items/%00/participant/7/thread", status=400),
    Case("GET", "/forum/items//participant/7/thread"),
    Case("GET", "/forum/items/1/participant//thread"),
    Case("GET", f"/forum/items/{MAX_ID}/participant/{MAX_ID}/thread"),
    Case("PUT", THREAD, {"helper_group_id": "99999999999999999999", "status": "waiting_for_trainer"}, status=400),
    Case("PUT", THREAD, '{"helper_group_id": 99999999999999999999, "status": "waiting_for_trainer"}', status=400),
    Case("PUT", THREAD, {"helper_group_id": -1, "status": "waiting_for_trainer"}, status=400),
    Case("PUT", THREAD, {"helper_group_id": 1e300, "status": "waiting_for_trainer"}, status=400),
    Case("POST", f"{THREAD}/events", {"type": "attempt_started", "attempt_id": str(MAX_ID + 1)}),
    Case("GET", f"/forum/threads?watched_group_id={MAX_ID + 1}", status=400),
    # numbers in bodies
    Case("PUT", THREAD, '{"message_count": 1e400}', status=400),
    Case("PUT", THREAD, '{"message_count": NaN}', status=400),
    Case("PUT", THREAD, '{"message_count": 1' + "0" * 5000 + "}", status=400),
    Case("PUT", THREAD, {"message_count_increment": 2**40}, status=400),
    # strings PostgreSQL cannot hold, and lone surrogates
    Case("POST", f"{THREAD}/messages", {"text": "a\x00b", "uuid": "nul-text"}, status=422),
    Case("POST", f"{THREAD}/messages", {"text": "hi", "uuid": "a\x00b"}, status=422),
    Case("POST", f"{THREAD}/messages", '{"text": "hi \\ud800", "uuid": "surrogate-text"}', status=422),
    Case("POST", f"{THREAD}/messages", '{"text": "hi", "uuid": "\\ud800"}', status=422),
    Case("PUT", f"{THREAD}/messages/first", '{"text": "x\\u0000"}', status=422),
    Case("PUT", THREAD, '{"status": "closed\\u0000"}', status=400),
    Case("PUT", THREAD, '{"\\u0000": 1}', status=400),
    Case("DELETE", f"{THREAD}/messages/%ED%A0%80", status=400),
    Case("DELETE", f"{THREAD}/messages/%C3%A9", status=400),
    Case("DELETE", f"{THREAD}/messages/{'a' * 5000}", status=400),  # DynamoDB refuses a key over 1 KiB
    Case("PUT", f"{THREAD}/messages/{'a' * 2000}", {"text": "edited"}, status=400),
    Case("DELETE", f"{THREAD}/messages/{'a' * 65}", status=400),
    Case("DELETE", f"{THREAD}/messages/{'a' * 64}", status=404),
    Case("DELETE", "/forum/notifications/%00", status=400),
    Case("PUT", "/forum/notifications/%00/read", status=400),
    Case("GET", "/forum/notifications?before=%00", status=400),
    Case("GET", f"/forum/notifications?before={'%D9%A1' * 25}", status=400),
    # query strings
    Case("GET", f"{THREAD}/events?limit=1e9", status=400),
    Case("GET", f"{THREAD}/events?limit=1000000000", status=400),
    Case("GET", f"{THREAD}/events?limit={'9' * 5000}", status=400),
    Case("GET", f"{THREAD}/events?limit=-1", status=400),
    Case("GET", f"{THREAD}/events?limit=%D9%A1", status=400),
    Case("GET", f"{THREAD}/events?limit=1&limit=2", status=400),
    Case("GET", "/forum/threads?is_mine=1&is_mine=1", status=400),
    Case("GET", f"{THREAD}/events?after=", status=400),
    Case("GET", f"{THREAD}/events?after=%00", status=400),
    Case("GET", f"{THREAD}/events?after={b64('e1.-1')}", status=400),
    Case("GET", f"{THREAD}/events?after={b64('e1.١')}", status=400),
    Case("GET", f"{THREAD}/events?after={'A' * 300}", status=400),
    Case("GET", f"{THREAD}/events?after=%FF", status=400),
    Case("GET", f"{THREAD}/events?%00=1", status=400),
    Case("GET", "/forum/threads?is_mine=1&latest_update_gt=2020-01-01T00:00:00", status=400),
    Case("GET", "/forum/threads?is_mine=1&latest_update_gt=%00", status=400),
    Case("GET", "/forum/threads?is_mine=1&from=%00", status=400),
    Case("GET", "/forum/threads?is_mine=1&from=" + b64("k1|2020-01-01T00:00:00\x00|1|7"), status=400),
    Case("GET", "/forum/threads?is_mine=1&limit=1e9", status=400),
    Case("GET", "/forum/threads?is_mine=1&latest_update_gt=1900-01-01T00:00:00Z", status=200),
    Case("GET", "/forum/threads?is_mine=1&latest_update_gt=9999-12-31T23:59:59.999Z", status=200),
    Case("GET", f"/forum/threads?is_mine=1&from={b64('k1|0001-01-01T00:00:00+00:00|1|7')}", status=200),
    Case("GET", f"/forum/threads?is_mine=1&latest_update_gt=2020-01-01T00:00:00Z"
                f"&from={b64('k1|0001-01-01T00:00:00+00:00|1|7')}", status=200),
    Case("GET", f"/forum/threads?helper_group_id={MAX_ID + 1}", status=400),
    # bodies and headers
    Case("PUT", THREAD, "[" * 30000, status=400),
    Case("PUT", THREAD, b"\xff\xfe", status=400),
    Case("PUT", THREAD, '"\\ud800"', status=400),
    Case("PUT", THREAD, b"{}", {"Content-Type": "application/json", "Content-Length": "-1"}, status=400),
    Case("GET", THREAD, headers={"Authorization": "Bearer \x00"}, status=400),
    Case("POST", f"{THREAD}/messages", b'{"text": "te"}', {"Transfer-Encoding": "gzip"}),
    Case("POST", f"{THREAD}/messages", b'{"text": "te"}', {"Content-Length": "14, 15"}, status=400),
    Case("GET", THREAD, headers={"Authorization": "Bearer " + "a" * 8000}, status=401),
    Case("GET", THREAD, headers={"X-Request-Id": "a" * 8000}),
    # websocket upgrades
    Case("GET", "/ws", headers={**WS_UPGRADE}, status=400),
    Case("GET", "/ws", headers={**WS_UPGRADE, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "x"}, status=400),
    Case("GET", "/ws", headers={**WS_UPGRADE, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": WS_KEY,
                                "Host": "xn--zz"}, status=400),
    Case("GET", "/ws", headers={"Connection": "Upgrade", "Upgrade": "h2c"}, status=400),
    Case("GET", "/ws?token=%00", headers={**WS_UPGRADE, "Sec-WebSocket-Version": "13",
                                          "Sec-WebSocket-Key": WS_KEY}, status=400),
    # paths and methods
    Case("GET", "/%00", status=400),
    Case("GET", "/forum/%00", status=400),
    Case("TRACE", THREAD, status=405),
]


@pytest.fixture(scope="module", params=["embedded", "postgres", "aws"])
def server(request, tmp_path_factory):
    env = {
        "PARLEY_AUTH": "jwt",
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_GRANTS": "open",
        "PARLEY_WRITE_RATE_LIMIT": "off",
        "PARLEY_LOG_LEVEL": "warning",
    }
    logs = tmp_path_factory.mktemp(f"client-input-{request.param}")
    if request.param == "embedded":
        env |= {"PARLEY_PROFILE": "embedded", "PARLEY_DATABASE_URL": f"sqlite:///{logs / 'parley.sqlite3'}"}
    elif request.param == "postgres":
        env |= {"PARLEY_PROFILE": "postgres", "PARLEY_DATABASE_URL": request.getfixturevalue("postgres_url")}
        run_cli(env, "db", "upgrade")
    else:
        env |= {
            "PARLEY_PROFILE": "aws",
            "PARLEY_DYNAMODB_ENDPOINT_URL": request.getfixturevalue("dynamodb_endpoint"),
            "PARLEY_DYNAMODB_TABLE_PREFIX": f"ci{uuid.uuid4().hex[:8]}_",
        }
        _create_tables_patiently(env["PARLEY_DYNAMODB_ENDPOINT_URL"], env["PARLEY_DYNAMODB_TABLE_PREFIX"])
    live = start_server(env, logs, gunicorn=True)
    try:
        _send(live.port, Case("PUT", THREAD, {"status": "waiting_for_trainer", "helper_group_id": "5"}))
        _send(live.port, Case("POST", f"{THREAD}/messages", {"text": "first", "uuid": "first"}))
        yield live
    finally:
        live.stop()


def _create_tables_patiently(endpoint: str, prefix: str) -> None:
    """What `parley dynamodb create-tables` does, with a client that waits: a DynamoDB Local that
    has just started can take longer to create a table than the server's request timeouts allow."""
    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=LOCAL_ENV["AWS_REGION"],
        config=Config(connect_timeout=10, read_timeout=60),
    )
    create_tables(client, prefix)


def _send(port: int, case: Case) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": bearer(), **case.headers}
    body = case.body
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Content-Length", str(len(body)))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest(case.method, urllib.parse.quote(case.target, safe="/?&=%:+-._~"), skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.encode("latin-1") if value.isascii() else value.encode())
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _events(port: int) -> bytes:
    status, _, body = _send(port, Case("GET", f"{THREAD}/events?limit=500"))
    assert status == 200, body
    return body


@pytest.mark.parametrize("case", RED_TEAM + ATTACKER, ids=str)
def test_hostile_input_is_a_4xx_with_the_envelope_and_changes_nothing(server, case):
    before = _events(server.port)
    status, headers, raw = _send(server.port, case)
    assert status < 500, (status, raw[:300], server.log()[-3000:])
    if case.status is not None:
        assert status == case.status, raw[:300]
    assert headers.get("content-type", "").startswith("application/json"), (status, raw[:300])
    payload = json.loads(raw)
    if status >= 400:
        assert payload["success"] is False and isinstance(payload["message"], str), payload
        assert isinstance(payload["error"]["code"], str) and isinstance(payload["error"]["details"], dict)
        if case.code is not None:
            assert payload["error"]["code"] == case.code, payload
        assert _events(server.port) == before
    if status == 426:
        assert headers["sec-websocket-version"] == "13"


@pytest.mark.parametrize("since", ["ZTEuOTk5OTk5OTk5OTk5OTk5OTk5OQ", b64(f"e1.{MAX_ID + 1}"), b64("e1.-1")])
def test_a_websocket_since_past_signed_64_bits_is_an_error_frame_and_the_socket_stays(server, since):
    client = WsClient(f"{server.ws_url}?token={bearer().removeprefix('Bearer ')}")
    try:
        assert client.recv()["type"] == "ready"
        client.send({"action": "subscribe", "id": "s1", "topic": "forum.thread", "item_id": "1",
                     "participant_id": str(USER), "since": since})
        frame = client.recv_until(lambda f: f["type"] in ("subscribed", "error"))
        assert frame == {**frame, "type": "error", "id": "s1", "code": "bad_request"}
        client.send({"action": "ping", "id": "p1"})
        assert client.recv_until(lambda f: f["type"] == "pong")["id"] == "p1"
    finally:
        client.close()


def test_a_websocket_since_at_the_last_signed_64_bit_value_subscribes(server):
    client = WsClient(f"{server.ws_url}?token={bearer().removeprefix('Bearer ')}")
    try:
        assert client.recv()["type"] == "ready"
        client.send({"action": "subscribe", "id": "s1", "topic": "forum.thread", "item_id": "1",
                     "participant_id": str(USER), "since": b64(f"e1.{MAX_ID}")})
        frame = client.recv_until(lambda f: f["type"] in ("subscribed", "error"))
        assert frame["type"] == "subscribed" and frame["events"] == []
    finally:
        client.close()
