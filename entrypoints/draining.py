"""A server stopping gracefully (SIGTERM under gunicorn): the process-wide "draining" state.

From the moment a worker is told to stop, `/readyz` answers 503 (a balancer or an external checker
takes the server out), new websocket upgrades are refused with 503 (nginx passes them to the next
server), and every open websocket is closed with 1012 "service restart" so that its client
reconnects, through the balancer, to another server with its last cursor. HTTP requests in flight
finish normally; gunicorn stops accepting within a second and exits when they are done (or at its
graceful_timeout). docs/deployment.md describes the sequence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_draining = threading.Event()
_on_drain: list[Callable[[], None]] = []
_lock = threading.Lock()


def is_draining() -> bool:
    return _draining.is_set()


def on_drain(callback: Callable[[], None]) -> None:
    """Run `callback` once when draining begins (registered by the entrypoints that hold clients)."""
    with _lock:
        _on_drain.append(callback)


def begin_draining() -> None:
    """Idempotent; every callback runs even if one fails."""
    with _lock:
        if _draining.is_set():
            return
        _draining.set()
        callbacks = list(_on_drain)
    log.info("draining: closing websockets for reconnection, finishing requests in flight")
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("a drain callback failed")
