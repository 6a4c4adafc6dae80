"""The websocket's socket, written whole: every byte of every frame, or the connection ends.

simple-websocket writes each frame (and its pongs and close frames) with one `socket.send`, which
may write only part of it and drop the rest. Blocking sockets under threads (the development
server) write everything; gevent's sockets (gunicorn's production worker) write what the kernel
takes, so a client that reads slowly received frames with bytes missing, which it sees as a
protocol error (close 1002). `WholeWrites` stands in for the connection's socket: each send writes
its whole buffer, one send at a time (the reader thread's pongs must not land inside a frame), and
a client that accepts nothing for `SEND_STALL_SECONDS` has its connection shut: a frame half written
cannot be followed by anything else, not even a close frame.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any

# A client that takes no byte for this long is gone or hopelessly slow (a 2 h subscription resumes
# from its cursor after reconnecting). Longer than a pause of a busy browser tab.
SEND_STALL_SECONDS = 10.0


class SendStalled(OSError):
    pass


class WholeWrites:
    def __init__(self, raw: Any, stall_seconds: float = SEND_STALL_SECONDS):
        self._raw = raw
        self._stall_seconds = stall_seconds
        self._lock = threading.Lock()
        self._aborted = False

    def send(self, data: bytes) -> int:
        view = memoryview(data)
        with self._lock:
            while view:
                if self._aborted:
                    raise BrokenPipeError("the connection was shut")
                if not self._writable_within(self._stall_seconds):
                    self.abort()
                    raise SendStalled(f"the client took nothing for {self._stall_seconds:g} s")
                try:
                    # MSG_DONTWAIT: a blocking socket must not block past the stall deadline either.
                    sent = self._raw.send(view, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    continue
                view = view[sent:]
        return len(data)

    sendall = send

    def _writable_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        fileno = self._raw.fileno()
        if fileno < 0:
            raise BrokenPipeError("the socket is closed")
        poller = select.poll()  # gevent's when patched: it waits without holding up other greenlets
        poller.register(fileno, select.POLLOUT)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if poller.poll(remaining * 1000):
                return True

    def abort(self) -> None:
        """Shut the connection now (a stalled or abandoned client); any send then fails at once."""
        self._aborted = True
        try:
            self._raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        # recv, close, fileno, … are the socket's own.
        return getattr(self._raw, name)


def write_whole_frames(ws: Any) -> WholeWrites:
    """Make a simple-websocket connection write through `WholeWrites`; returns the wrapper."""
    if not isinstance(ws.sock, WholeWrites):
        ws.sock = WholeWrites(ws.sock)
    return ws.sock
