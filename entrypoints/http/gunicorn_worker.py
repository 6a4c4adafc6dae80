"""gunicorn's gevent worker, answering the requests gunicorn itself refuses with the JSON envelope.

gunicorn refuses some requests before the application sees them: a request line over
limit_request_line (414), too many or too large headers (431), a malformed header or Content-Length
(400), an unknown transfer coding (501). It answers those with an HTML page. Clients of this API
read `{"success": false, "error": {"code": …}}` from every error, so this worker keeps gunicorn's
decision (the status and reason it chose) and writes that in the JSON envelope instead.
"""

from __future__ import annotations

import json

from gunicorn.workers.ggevent import GeventWorker


class JsonErrorGeventWorker(GeventWorker):
    """`worker_class` in gunicorn.conf.py."""

    def handle_error(self, req, client, addr, exc):
        super().handle_error(req, JsonErrorSocket(client, self.cfg), addr, exc)

    def handle_exit(self, sig, frame):
        """SIGTERM: gunicorn stops accepting within a second and lets requests in flight finish;
        Parley drains first (entrypoints/draining.py: /readyz 503, websockets closed with 1012).
        Off the signal handler, in a greenlet, as gunicorn does for SIGQUIT."""
        super().handle_exit(sig, frame)
        import gevent

        gevent.spawn(_begin_draining)


def _begin_draining() -> None:
    # Imported here, in the worker, for the reason given in json_error_page.
    from entrypoints.draining import begin_draining

    begin_draining()


class JsonErrorSocket:
    """Stands in for the client's socket while gunicorn writes its error page, and sends the same
    status as the JSON envelope. Everything else (socket name, blocking mode) is the real socket's."""

    def __init__(self, sock, cfg):
        self._sock = sock
        self._cfg = cfg

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(json_error_page(data, self._cfg))

    def __getattr__(self, name):
        return getattr(self._sock, name)


def json_error_page(html_page: bytes, cfg) -> bytes:
    """The JSON answer for gunicorn's HTML one, from its status line `HTTP/1.1 414 URI Too Long`."""
    # Imported here, in the worker: gunicorn's master loads this module before gevent patches the
    # standard library in each worker, and must not import Flask and the app's modules unpatched.
    from entrypoints.http.errors import code_for_status, error_body

    status_line = html_page.split(b"\r\n", 1)[0].decode("latin-1")
    try:
        _, code, reason = status_line.split(" ", 2)
        status = int(code)
    except ValueError:
        status, reason = 400, "Bad Request"
    body = json.dumps(error_body(reason, code_for_status(status, reason), _limit_details(status, cfg))).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _limit_details(status: int, cfg) -> dict[str, list[str]]:
    """Which limit the request broke, so a client knows what to shorten."""
    if status == 414:
        return {"request_line": [f"at most {cfg.limit_request_line} bytes"]}
    if status == 431:
        return {
            "headers": [
                f"at most {cfg.limit_request_fields} fields of at most {cfg.limit_request_field_size} bytes each"
            ]
        }
    return {}
