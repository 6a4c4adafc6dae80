"""gunicorn's production configuration with two workers: its logs and its metrics (issues 11 and 12).

One real `gunicorn -c gunicorn.conf.py wsgi:app` with gunicorn's access log on, fed malformed
request lines, oversized and invalid headers, bad websocket upgrades and ordinary requests, all
carrying a token; then every line it wrote (stdout and stderr) is read: each is one JSON object,
and none holds the token, whole or in part. /metrics must add up what both workers counted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from tests.support.clients import WsClient, http
from tests.support.live_server import LiveServer, start_server

pytestmark = pytest.mark.integration
SECRET = "logs-integration-secret-" + "x" * 40
OPAQUE = "opaque-credential-4f1c9a"  # not JWT-shaped: only its place (token=, Authorization) gives it away
REQUEST_ROUTE = "/forum/items/<item_id>/participant/<participant_id>/thread"


def _jwt(user: int = 7) -> str:
    return jwt.encode({"sub": str(user), "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


TOKEN = _jwt()


def _start(tmp_path_factory, **env) -> LiveServer:
    return start_server(
        {
            "PARLEY_PROFILE": "memory",
            "PARLEY_AUTH": "jwt",
            "PARLEY_JWT_SECRET": SECRET,
            "PARLEY_GRANTS": "open",
            "PARLEY_WORKERS": "2",
            "PARLEY_ACCESS_LOG": "on",
            **env,
        },
        tmp_path_factory.mktemp("gunicorn-logs"),
        gunicorn=True,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = _start(tmp_path_factory)
    yield server
    server.stop()


def _raw(server: LiveServer, payload: bytes, timeout: float = 2) -> bytes:
    """Send bytes as they are (no client library would send these) and read the answer, if any."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as conn:
        conn.sendall(payload)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def _hostile_requests(token: str) -> list[bytes]:
    host = b"Host: 127.0.0.1\r\n"
    t = token.encode()
    upgrade = b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    return [
        # The red team's request line: no HTTP version, so gunicorn cannot parse it.
        b"GET /ws?token=" + t + b"\r\n\r\n",
        b"GET /ws?token=" + t + b" HTTP/1.1 extra\r\n\r\n",
        b"G@T /ws?token=" + t + b" HTTP/1.1\r\n" + host + b"\r\n",
        b"GET /ws?token=" + t + b" HTTP/9.9\r\n" + host + b"\r\n",
        b"GET /ws?token=" + t + b"&pad=" + b"p" * 9000 + b" HTTP/1.1\r\n" + host + b"\r\n",
        # Headers: oversized, too many, malformed name, control characters, obsolete folding.
        b"GET /ws?token=" + t + b" HTTP/1.1\r\n" + host + b"Authorization: Bearer " + t + b"x" * 9000 + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"".join(b"X-H%d: %s\r\n" % (i, t) for i in range(150)) + b"\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"Authorization : Bearer " + t + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"Authorization: Bearer " + t + b"\x00\x01\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"X-A: a\r\n Authorization: Bearer " + t + b"\r\n\r\n",
        b"GET /healthz?token=" + t + b" HTTP/1.1\r\n" + host + b"Authorization: " + t + b"\r\n\r\n",
        # Bodies that do not parse, on a request that carries the token.
        b"POST /forum/items/1/participant/7/thread/messages?token=" + t + b" HTTP/1.1\r\n" + host
        + b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        # Websocket upgrades that are not right: no key, a wrong version, a POST.
        b"GET /ws?token=" + t + b" HTTP/1.1\r\n" + host + upgrade + b"Sec-WebSocket-Version: 13\r\n\r\n",
        b"GET /ws?token=" + t + b" HTTP/1.1\r\n" + host + upgrade
        + b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n",
        b"POST /ws?token=" + t + b" HTTP/1.1\r\n" + host + upgrade + b"Content-Length: 0\r\n\r\n",
        b"GET /ws HTTP/1.1\r\n" + host + b"Authorization: Bearer " + t + b"\r\n\r\n",
    ] + ([b"GET /" + t + b" HTTP/1.1\r\n" + host + b"\r\n"] if token.startswith("eyJ") else [])


def _ordinary_requests(server: LiveServer, token: str) -> None:
    thread = f"{server.url}/forum/items/10/participant/7/thread"
    bearer = {"Authorization": f"Bearer {token}"}
    for url, headers in [
        (thread, bearer),
        (f"{thread}?token={token}", bearer),
        (f"{thread}?token={token}", {}),
        (f"{server.url}/nowhere?access_token={token}&token={token}", bearer),
        (thread, {"Authorization": f"Bearer {token}broken"}),
        (thread, {"Authorization": f"Basic {token}"}),
        (thread, {"Authorization": token}),
    ]:
        assert http("GET", url, headers=headers)[0] < 500
    scrape = urllib.request.Request(f"{server.url}/metrics?token={token}", headers=bearer)
    with urllib.request.urlopen(scrape, timeout=5) as answer:
        assert answer.status == 200
    for query in (f"?token={token}", f"?token={token}broken"):
        try:
            ws = WsClient(f"{server.ws_url}{query}")
        except Exception:  # noqa: BLE001 (a refused handshake is an answer too; only the logs matter)
            continue
        try:
            ws.send({"action": "ping", "id": "p1"})
            ws.send_raw(f"not json {token}")
            ws.send({"action": "auth", "token": token})
            time.sleep(0.1)
        except Exception:  # noqa: BLE001 (the server may have closed it)
            pass
        ws.close()


def _lines(server: LiveServer) -> list[str]:
    return [line for line in server.log().splitlines() if line.strip()]


def test_no_log_line_ever_holds_a_token(tmp_path_factory):
    server = _start(tmp_path_factory)
    try:
        for token in (TOKEN, OPAQUE):
            for payload in _hostile_requests(token):
                _raw(server, payload)
            _ordinary_requests(server, token)
    finally:
        server.stop()  # and its log is complete
    lines = _lines(server)
    text = "\n".join(lines)
    assert "Invalid request from ip=" in text, "the malformed requests were not logged at all"
    payload, signature = TOKEN.split(".")[1:]
    for secret in (TOKEN, payload, signature, OPAQUE):
        leaks = [line for line in lines if secret in line]
        assert not leaks, f"{secret[:12]}… is in {len(leaks)} log line(s), such as: {leaks[0][:300]}"
    assert "gunicorn.access" in text, "gunicorn's access log was not on"
    for line in lines:
        json.loads(line)  # every line, gunicorn's and the libraries' included, is one JSON object


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        ours = line.startswith(name + "{") or line.startswith(name + " ")
        if ours and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _scrape(server: LiveServer) -> str:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as answer:
        return answer.read().decode()


def _request_count(server: LiveServer) -> float:
    text = _scrape(server)
    return _sample(text, "parley_http_request_duration_seconds_count", route=REQUEST_ROUTE, method="GET", status="200")


def _worker_pids(server: LiveServer, request_ids: set[str]) -> set[int]:
    pids = set()
    for line in _lines(server):
        entry = json.loads(line)
        if entry.get("event") == "request" and entry.get("request_id") in request_ids:
            pids.add(entry["pid"])
    return pids


def test_metrics_add_up_every_worker(server):
    thread = f"{server.url}/forum/items/11/participant/7/thread"
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    def get(i: int) -> str:
        status, _body, headers = http("GET", thread, headers={**bearer, "X-Request-Id": f"spread-{i}"})
        assert status == 200
        return headers["X-Request-Id"]

    sent: set[str] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(10):  # until both workers have answered some (the kernel picks who accepts)
            sent |= set(pool.map(get, range(len(sent), len(sent) + 40)))
            time.sleep(0.2)
            if len(_worker_pids(server, sent)) == 2:
                break
    assert len(_worker_pids(server, sent)) == 2, "every request went to the same worker"
    # Whichever worker answers the scrape, it reports the sum over both.
    assert {_request_count(server) for _ in range(8)} == {float(len(sent))}


def test_request_lines_of_libraries_and_gunicorn_carry_the_request_id(server):
    _status, _body, headers = http("GET", f"{server.url}/healthz", headers={"X-Request-Id": "trace-me-1"})
    assert headers["X-Request-Id"] == "trace-me-1"
    time.sleep(0.3)
    tagged = [json.loads(line) for line in _lines(server) if "trace-me-1" in line]
    assert {entry["logger"] for entry in tagged} == {"parley.http", "gunicorn.access"}
    assert all(entry["request_id"] == "trace-me-1" for entry in tagged)


def _alive(ws: WsClient) -> bool:
    try:
        ws.send({"action": "ping", "id": "p"})
        return ws.recv_until(lambda frame: frame["type"] == "pong", timeout=2) is not None
    except Exception:  # noqa: BLE001 (closed with its worker)
        return False


def _booted(server: LiveServer) -> list[int]:
    return [int(pid) for pid in re.findall(r'"Booting worker with pid: (\d+)"', server.log())]


def test_an_exited_worker_keeps_its_counts_and_drops_its_open_sockets(server):
    before = _request_count(server)
    open_before = _sample(_scrape(server), "parley_websockets_open")
    sockets = [WsClient(f"{server.ws_url}?token={TOKEN}") for _ in range(8)]
    try:
        assert all(_alive(ws) for ws in sockets)
        assert _sample(_scrape(server), "parley_websockets_open") == open_before + 8
        booted = _booted(server)
        os.kill(booted[-1], signal.SIGKILL)  # the master notices, forgets it and starts another
        deadline = time.monotonic() + 20
        while len(_booted(server)) == len(booted) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_booted(server)) > len(booted), "the master started no new worker"
        alive = sum(_alive(ws) for ws in sockets)
        # The killed worker's sockets left the gauge; the counter still counts the requests it served.
        assert _sample(_scrape(server), "parley_websockets_open") == open_before + alive
        assert _request_count(server) == before
    finally:
        for ws in sockets:
            ws.close()
