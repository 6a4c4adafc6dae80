"""Small real clients for integration tests: JSON over HTTP (urllib) and a websocket (simple-websocket)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from simple_websocket import Client


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
    def __init__(self, url: str):
        self.ws = Client.connect(url)

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def recv(self, timeout: float = 5) -> dict[str, Any]:
        raw = self.ws.receive(timeout=timeout)
        if raw is None:
            raise TimeoutError("no frame in time")
        return json.loads(raw)

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
