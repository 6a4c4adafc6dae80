"""gunicorn's own error answers (414, 431, 400 on a malformed header) come out as the JSON envelope.

gunicorn writes them with gunicorn.util.write_error; the worker hands it a socket that rewrites the
page. The real server is exercised in tests/integration/test_client_input.py.
"""

from __future__ import annotations

import json

import pytest
from gunicorn import util
from gunicorn.config import Config

from entrypoints.http.gunicorn_worker import JsonErrorSocket


class RecordingSocket:
    def __init__(self):
        self.sent = b""
        self.blocking_calls: list[bool] = []

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def gettimeout(self):
        return None

    def setblocking(self, flag) -> None:
        self.blocking_calls.append(bool(flag))


def answer(raw: bytes) -> tuple[int, dict[str, str], dict]:
    head, body = raw.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert int(headers["Content-Length"]) == len(body)
    return int(status_line.split(" ")[1]), headers, json.loads(body)


@pytest.mark.parametrize(
    "status, reason, code",
    [
        (414, "URI Too Long", "uri_too_long"),
        (431, "Request Header Fields Too Large", "request_header_fields_too_large"),
        (400, "Bad Request", "bad_request"),
        (501, "Not Implemented", "not_implemented"),
    ],
)
def test_gunicorns_error_page_is_rewritten_as_the_envelope(status, reason, code):
    sock = RecordingSocket()
    util.write_error(JsonErrorSocket(sock, Config()), status, reason, "<b>gunicorn's own words</b>")
    got_status, headers, body = answer(sock.sent)
    assert got_status == status
    assert headers["Content-Type"] == "application/json" and headers["Connection"] == "close"
    assert body["success"] is False and body["message"] == reason and body["error"]["code"] == code
    assert b"<html>" not in sock.sent
    assert sock.blocking_calls == [False, True]  # the real socket's mode is what gunicorn switched


def test_the_limit_broken_is_named_from_the_servers_configuration():
    cfg = Config()
    cfg.set("limit_request_line", 5000)
    sock = RecordingSocket()
    util.write_error(JsonErrorSocket(sock, cfg), 414, "URI Too Long", "Request Line is too large (6000 > 5000)")
    assert answer(sock.sent)[2]["error"]["details"] == {"request_line": ["at most 5000 bytes"]}
