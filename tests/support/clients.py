"""Small real clients for integration tests: JSON over HTTP (urllib) and a websocket (websockets)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10):
    """Returns (status, parsed JSON body, headers); never raises for 4xx/5xx."""
    data = None if body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, method=method, data=data, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None, dict(err.headers)


class WsClient:
    """A plain websocket client (the `websockets` library), as a browser would speak to /ws."""

    def __init__(self, url: str):
        # A short close_timeout: once the close frame is in, the test need not wait for the TCP close.
        self.ws = connect(url, open_timeout=10, close_timeout=2, max_size=2**22, legacy=True)

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def recv(self, timeout: float = 5) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))

    def close_code(self, timeout: float = 5) -> int | None:
        """Wait for the server to close the connection and return its close code."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    def recv_until(self, predicate, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(deadline - time.monotonic(), 0.01))
            if predicate(frame):
                return frame

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
