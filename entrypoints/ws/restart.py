"""Websockets of a draining server (entrypoints/draining.py): closed with 1012, new ones refused.

Close code 1012 is RFC 6455's registered "Service Restart": the client should reconnect, which
through a balancer reaches another server, and resume with `since=<last cursor>`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from flask import Flask, request

from entrypoints import draining
from entrypoints.http.errors import error_response
from entrypoints.ws.connection import Connection

CLOSE_SERVICE_RESTART = 1012
RESTART_REASON = "server restarting: reconnect with your last cursor"
RETRY_AFTER_SECONDS = 1

_open: weakref.WeakSet[Connection] = weakref.WeakSet()
_lock = threading.Lock()


def track(conn: Connection) -> Callable[[], None]:
    """Count `conn` among the sockets a drain closes; returns the function that stops counting it."""
    with _lock:
        _open.add(conn)
    if draining.is_draining():  # opened as the drain began: it goes too
        conn.close(CLOSE_SERVICE_RESTART, RESTART_REASON)

    def untrack() -> None:
        with _lock:
            _open.discard(conn)

    return untrack


def close_all_for_restart() -> None:
    """After the frames already queued, each socket gets its close frame (the writer sends it)."""
    with _lock:
        conns = list(_open)
    for conn in conns:
        conn.close(CLOSE_SERVICE_RESTART, RESTART_REASON)


def install(app: Flask) -> None:
    app.before_request(refuse_upgrades_while_draining)
    draining.on_drain(close_all_for_restart)


def refuse_upgrades_while_draining():
    if not draining.is_draining() or request.url_rule is None or not request.url_rule.websocket:
        return None
    return error_response(
        503,
        "this server is restarting: connect again",
        "server_restarting",
        None,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
