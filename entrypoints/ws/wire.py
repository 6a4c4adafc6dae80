"""The websocket's socket, written whole: every byte of every frame, or the connection ends.

One `socket.send` may write only part of its buffer: gevent's sockets (gunicorn's production
worker) write what the kernel takes at that moment, and a frame with bytes missing is a protocol
error for the client (close 1002). `WholeWrites` stands in for the connection's socket: each send
writes its whole buffer, one send at a time (a pong from the reader must not land inside a frame),
and a client that accepts nothing for `SEND_STALL_SECONDS` has its connection shut: a frame half
written cannot be followed by anything else, not even a close frame. `try_send` writes without
waiting, for the flusher that serves every socket from one greenlet (entrypoints/ws/connection.py).

Also here: frames encoded once for every socket, and what differs between gevent (the production
server: greenlets, no lock needed around code that never blocks) and threads (the development
server and the unit tests).
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

# A client that takes no byte for this long is gone or hopelessly slow (a 2 h subscription resumes
# from its cursor after reconnecting). Longer than a pause of a busy browser tab.
SEND_STALL_SECONDS = 10.0


# Writes at least this large (history pages, not live events) check that the socket is writable
# before they start.
ROOM_CHECKED_BYTES = 16 * 1024


class SendStalled(OSError):
    pass


class WholeWrites:
    __slots__ = ("_raw", "_stall_seconds", "_lock", "_aborted", "_rest", "cooperative")

    def __init__(self, raw: Any, stall_seconds: float = SEND_STALL_SECONDS):
        self._raw = raw
        self._stall_seconds = stall_seconds
        self._lock = lock_held_across_io()
        self._aborted = False
        # What `try_send` could not write at once: it goes out before anything else.
        self._rest: memoryview | None = None
        # gevent's socket waits for writability itself on a full buffer unless told not to.
        self.cooperative = _gevent_socket is not None and isinstance(raw, _gevent_socket.socket)

    def send(self, data: bytes) -> int:
        with self._lock:
            if self._rest is not None:
                rest, self._rest = self._rest, None
                self._write_all(rest)
            self._write_all(memoryview(data))
        return len(data)

    def try_send(self, data: bytes) -> str:
        """Write without waiting: "sent" (all of it), "partly" (the rest is kept and goes out first
        with the next `send`, which must follow), or "busy" (nothing taken: another write is under way)."""
        if self._rest is not None or self._lock.locked() or len(data) >= ROOM_CHECKED_BYTES:
            return "busy"
        with self._lock:
            if self._aborted:
                raise BrokenPipeError("the connection was shut")
            view = memoryview(data)
            view = view[self._send_now(view) :]
            if not view:
                return "sent"
            self._rest = view
            return "partly"

    @property
    def has_rest(self) -> bool:
        return self._rest is not None

    def _write_all(self, view: memoryview) -> None:
        # Written at once when the kernel takes it (nearly always); waiting for room only when not.
        # A large write waits for the kernel's own sign of room first: a client that stopped reading
        # is found by it even while the kernel would still buffer a whole history page.
        if len(view) >= ROOM_CHECKED_BYTES and not self._writable_within(self._stall_seconds):
            self.abort()
            raise SendStalled(f"the client took nothing for {self._stall_seconds:g} s")
        while True:
            if self._aborted:
                raise BrokenPipeError("the connection was shut")
            view = view[self._send_now(view) :]
            if not view:
                return
            if not self._writable_within(self._stall_seconds):
                self.abort()
                raise SendStalled(f"the client took nothing for {self._stall_seconds:g} s")

    def _send_now(self, view: memoryview) -> int:
        try:
            # MSG_DONTWAIT: a blocking socket must not block past the stall deadline either.
            if self.cooperative:
                return self._raw.send(view, socket.MSG_DONTWAIT, timeout=0.0)
            return self._raw.send(view, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return 0

    sendall = send

    def recv(self, size: int) -> bytes:
        return self._raw.recv(size)

    def fileno(self) -> int:
        return self._raw.fileno()

    @property
    def raw(self) -> Any:
        return self._raw

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
        # close, shutdown, … are the socket's own.
        return getattr(self._raw, name)


# -- frames, encoded once ---------------------------------------------------------------------------
# A server's frames are never masked (RFC 6455 §5.1), so a frame's bytes are the same for every
# socket: an event published to a thousand subscribers is framed once and those bytes written to each.
_TEXT, _CLOSE, _PING, _PONG = 0x81, 0x88, 0x89, 0x8A  # FIN set, no extension bits: uncompressed, one frame a message


def _frame(first_byte: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first_byte, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first_byte, 126, size) + payload
    return struct.pack("!BBQ", first_byte, 127, size) + payload


def text_frame(text: str) -> bytes:
    return _frame(_TEXT, text.encode())


def framed(publication: Any) -> bytes:
    """A publication's event frame, encoded on its first subscriber and kept on it for the others."""
    wire = publication.encodings.get("websocket")
    if wire is None:
        wire = publication.encodings["websocket"] = text_frame(publication.frame())
    return wire


def close_frame(code: int | None, reason: str | None) -> bytes:
    if code is None:
        return _frame(_CLOSE, b"")
    # A control frame carries at most 125 bytes: the code's 2 and up to 123 of reason.
    return _frame(_CLOSE, struct.pack("!H", code) + (reason or "").encode()[:123])


def pong_frame(payload: bytes) -> bytes:
    return _frame(_PONG, bytes(payload[:125]))


PING_FRAME = _frame(_PING, b"")


def spawn(run: Callable[[], None]) -> None:
    """Run `run` concurrently: a bare greenlet under gevent (gunicorn's worker), a thread otherwise.

    A bare greenlet has no Thread object, no join lock and no name, and lives only as long as
    `run`: a socket's writer exists while the socket has something to send.
    """
    if threads_are_greenlets():
        _gevent.spawn_raw(run)
    else:
        threading.Thread(target=run, daemon=True).start()


def let_others_run() -> None:
    """Under gevent, let every other greenlet that is ready run first (threads need nothing)."""
    if threads_are_greenlets():
        _gevent.sleep(0)


class _NoLock:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()


def lock_not_held_across_io() -> Any:
    """A lock around state that its holder changes without ever blocking or doing I/O.

    Under gevent only one greenlet runs at a time and switches happen only where one blocks, so no
    other can enter such a section: no lock is needed (gevent's patched Lock costs a Python call on
    every delivery). Under threads, a real lock.
    """
    return _NO_LOCK if threads_are_greenlets() else threading.Lock()


def lock_held_across_io() -> Any:
    """A lock its holder keeps while it waits for the socket: gevent's own under gevent."""
    return _gevent_lock.Semaphore(1) if threads_are_greenlets() else threading.Lock()


def threads_are_greenlets() -> bool:
    return _gevent_monkey is not None and _gevent_monkey.is_module_patched("threading")


try:
    import gevent as _gevent
    import gevent.lock as _gevent_lock
    import gevent.socket as _gevent_socket
    from gevent import monkey as _gevent_monkey
except ImportError:  # gevent is the production server's; the development server runs without it
    _gevent = _gevent_lock = _gevent_socket = _gevent_monkey = None
