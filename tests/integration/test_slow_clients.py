"""Slow websocket readers under gunicorn's production configuration (gevent worker) and the dev server.

A raw client (RFC 6455 framing written here, so that every byte the server wrote is checked) with a
small receive buffer floods `subscribe` frames and stops reading for a while. Every frame it then
reads must parse and every reply must arrive, unless the server closed it with 4408 (too slow).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import socket
import struct
import time
import urllib.request

import pytest

from tests.support.clients import http
from tests.support.live_server import start_server

# Wall-clock budgets and rates: run alone, after the parallel part of scripts/test.
pytestmark = [pytest.mark.integration, pytest.mark.serial]
_items = itertools.count(9000)

CLOSE_TOO_SLOW = 4408


@pytest.fixture(scope="module", params=["gunicorn", "werkzeug"])
def served(request, tmp_path_factory):
    """gunicorn's production configuration (gevent worker), where writes used to be partial; and the
    development server, which must behave the same."""
    server = start_server(
        {"PARLEY_PROFILE": "memory", "PARLEY_AUTH": "dev", "PARLEY_GRANTS": "open", "PARLEY_WRITE_RATE_LIMIT": "off"},
        tmp_path_factory.mktemp("slow-clients"),
        gunicorn=request.param == "gunicorn",
    )
    yield server
    server.stop()


class BadFrame(Exception):
    pass


class RawClient:
    """A websocket client on a bare socket whose receive buffer is small (SO_RCVBUF before connect)."""

    def __init__(self, port: int, user: str = "1", rcvbuf: int = 8192):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(10)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws?user={user} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.close_code: int | None = None

    def send(self, frame: dict) -> None:
        payload = json.dumps(frame).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection ended")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def recv(self) -> dict | None:
        """The next text frame as JSON; None once the server's close frame has arrived."""
        while True:
            first, second = self._take(2)
            if first & 0x70:
                raise BadFrame(f"reserved bits must be 0 (byte {first:#x})")
            opcode = first & 0x0F
            if second & 0x80:
                raise BadFrame("server frames must not be masked")
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._take(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._take(8))
            if length > 64 * 2**20:
                raise BadFrame(f"implausible length {length}")
            payload = self._take(length)
            if opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return None
            if opcode in (0x9, 0xA):
                continue  # ping / pong
            if opcode != 0x1 or not first & 0x80:
                raise BadFrame(f"unexpected opcode {opcode} (fin={bool(first & 0x80)})")
            try:
                return json.loads(payload.decode())
            except ValueError as err:  # UnicodeDecodeError too: bytes of another frame in this one
                raise BadFrame(f"payload is not JSON text: {err}") from None

    def close(self) -> None:
        self.sock.close()


def fill_thread(server, item: int, messages: int, chars: int) -> None:
    path = f"/forum/items/{item}/participant/1/thread"
    status, body, _ = http(
        "PUT", server.url + path, {"status": "waiting_for_trainer", "helper_group_id": "5"}, {"X-Parley-User": "1"}
    )
    assert status == 200, body
    for n in range(messages):
        message = {"text": "x" * chars, "uuid": f"u-{item}-{n}"}
        status, body, _ = http("POST", server.url + path + "/messages", message, {"X-Parley-User": "1"})
        assert status == 201, body


def metric(server, name: str) -> float:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


@pytest.mark.parametrize(
    ("messages", "chars", "frames"),
    [
        (20, 3500, 90),  # replies of about 74 KB
        (495, 4000, 40),  # replies of about 2 MB: the outbox holds two, then 4408
    ],
    ids=["74KB-replies", "2MB-replies"],
)
def test_a_slow_reader_gets_whole_frames_or_a_4408_close(served, messages, chars, frames):
    item = next(_items)
    fill_thread(served, item, messages=messages, chars=chars)
    client = RawClient(served.port)
    try:
        assert client.recv()["type"] == "ready"
        # Not reading for 3 s: the burst at once, then within the subscribe rate (so that most are
        # served), while the server's writes stall on the full buffers.
        started = time.monotonic()
        for n in range(frames):
            if n >= 40:
                time.sleep(0.06)
            try:
                client.send({"action": "subscribe", "id": f"s{n}", "item_id": str(item), "participant_id": "1"})
            except OSError:  # closed as too slow: what it sent is answered or not, the frames must parse
                frames = n
                break
        time.sleep(max(0.0, 3 - (time.monotonic() - started)))
        replies: dict[str, dict] = {}
        while len(replies) < frames:
            frame = client.recv()  # raises BadFrame on any byte out of place
            if frame is None:
                break
            if frame.get("type") == "subscribed":
                assert len(frame["events"]) == messages + 1  # the opening, then the messages
            else:
                assert frame.get("code") == "rate_limited", frame
            replies[frame["id"]] = frame
        if client.close_code is None:
            assert sorted(replies) == sorted(f"s{n}" for n in range(frames))
        else:
            assert client.close_code == CLOSE_TOO_SLOW
        assert sum(f["type"] == "subscribed" for f in replies.values()) >= 1
    finally:
        client.close()


def test_an_aborted_slow_reader_leaves_no_subscription_behind(served):
    item = next(_items)
    fill_thread(served, item, messages=20, chars=3500)
    baseline_open = metric(served, "parley_websockets_open")
    client = RawClient(served.port)
    assert client.recv()["type"] == "ready"
    for n in range(40):
        client.send({"action": "subscribe", "id": f"s{n}", "item_id": str(item + n % 2), "participant_id": "1"})
    time.sleep(1)
    # An abort: RST at once, with unread data in the buffers.
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (
            metric(served, "parley_live_subscriptions") == 0
            and metric(served, "parley_websockets_open") == baseline_open
        ):
            break
        time.sleep(0.5)
    assert metric(served, "parley_live_subscriptions") == 0
    assert metric(served, "parley_websockets_open") == baseline_open


def test_a_reader_that_stops_reading_is_dropped_and_leaves_no_subscription_behind(served):
    """The outbox's byte cap closes it (4408); its subscriptions go at once, though its TCP stays open."""
    item = next(_items)
    fill_thread(served, item, messages=20, chars=3500)
    fill_thread(served, item + 1, messages=20, chars=3500)
    baseline_open = metric(served, "parley_websockets_open")
    client = RawClient(served.port)
    try:
        assert client.recv()["type"] == "ready"
        for n in range(38):  # 38 replies of 74 KB: far more than the outbox holds
            client.send({"action": "subscribe", "id": f"s{n}", "item_id": str(item + n % 2), "participant_id": "1"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (
                metric(served, "parley_live_subscriptions") == 0
                and metric(served, "parley_websockets_open") == baseline_open
            ):
                break
            time.sleep(0.5)
        assert metric(served, "parley_live_subscriptions") == 0
        assert metric(served, "parley_websockets_open") == baseline_open
    finally:
        client.close()
