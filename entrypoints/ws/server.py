"""The server side of one websocket, lean: one greenlet per socket, frames out written whole.

flask-sock's simple-websocket starts a reader thread for every socket (under gevent, a second
greenlet with its own saved stack and interpreter data stack, beside the request's own) and frames
each outgoing message through wsproto, socket by socket. Here the request's own greenlet (or
thread, under the development server) reads: `receive` waits for the socket to be readable, feeds
wsproto's frame parser (which checks masking, UTF-8, control frames and the close handshake) and
answers pings. Outgoing frames are bytes built once (entrypoints/ws/wire.py) and written through
`WholeWrites`, so a pong never lands inside an event frame and a stalled client is cut off.

No extension is negotiated: a browser's offer of permessage-deflate is declined, as RFC 7692
allows, which spares each socket its zlib state and lets every subscriber get the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from wsproto.connection import Connection as FrameParser
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.utilities import LocalProtocolError

from entrypoints.ws.wire import (
    PING_FRAME,
    WholeWrites,
    close_frame,
    pong_frame,
    spawn,
    text_frame,
    threads_are_greenlets,
)

log = logging.getLogger(__name__)
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
RECEIVE_BYTES = 4096
# A client message past this is refused with 1009 before it is assembled (the protocol's frames are
# at most 16 KiB of JSON: entrypoints/ws/protocol.py answers longer ones with an error frame).
MAX_MESSAGE_BYTES = 1 << 20
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_POLICY_VIOLATION = 1008


class ConnectionClosed(Exception):
    """The client closed the websocket or the connection was lost."""


class ServerSocket:
    """`send`, `receive` and `close` as flask-sock's socket has them, plus `send_frames`."""

    __slots__ = (
        "mode",
        "wire",
        "connected",
        "_parser",
        "_inbox",
        "_partial",
        "_partial_size",
        "_max_message",
        "_ping_every",
        "_next_ping",
        "_awaiting_pong",
        "detached",
    )

    def __init__(
        self, environ: dict[str, Any], ping_interval: float | None = None, max_message_size: int | None = None
    ):
        raw, self.mode = _raw_socket(environ)
        self.wire = WholeWrites(raw)
        self._parser = FrameParser(ConnectionType.SERVER)
        self._inbox: list[str | bytes] = []
        self._partial: list[str | bytes] = []
        self._partial_size = 0
        self._max_message = max_message_size or MAX_MESSAGE_BYTES
        # A client that has not answered the last ping by the next one is gone: closed with 1008.
        self._ping_every = ping_interval
        self._next_ping = None if ping_interval is None else time.monotonic() + ping_interval
        self._awaiting_pong = False
        self.connected = True
        self.detached = False
        self.wire.send(_accept_response(environ["HTTP_SEC_WEBSOCKET_KEY"]))

    def live_on_after_request(self, run: Callable[[], None]) -> bool:
        """Run `run` (the socket's life) so that the HTTP request that opened it can end: True if so.

        Under gunicorn's gevent worker the socket's descriptor is taken from gunicorn's socket object
        (which then closes nothing) and `run` goes on in a greenlet of its own, started shallow: what
        an idle socket costs is that greenlet's few frames, not the request's greenlet with gunicorn's,
        Flask's and the view's frames, the request and its headers. Elsewhere (the development
        server, threads) `run` runs here and False is returned.
        """
        if self.mode != "gunicorn" or not threads_are_greenlets():
            self._run(run)
            return False
        raw = self.wire.raw
        own = socket.socket(raw.family, raw.type, raw.proto, fileno=raw.detach())
        self.wire = WholeWrites(own)
        self.detached = True
        spawn(lambda: self._run_then_close(run))
        return True

    def _run(self, run: Callable[[], None]) -> None:
        try:
            run()
        except ConnectionClosed:
            pass

    def _run_then_close(self, run: Callable[[], None]) -> None:
        try:
            self._run(run)
        except Exception:
            log.exception("websocket handler failed")
        finally:
            if self.connected:
                self.close()
            self.wire.close()

    # -- out ---------------------------------------------------------------------------------

    def send(self, data: str) -> None:
        self.send_frames([text_frame(data)])

    def send_frames(self, frames: list[bytes]) -> None:
        """Frames already encoded, in one write (several events a subscriber was due, at once)."""
        if not self.connected:
            raise ConnectionClosed()
        self.wire.send(frames[0] if len(frames) == 1 else b"".join(frames))

    def try_send_frames(self, frames: list[bytes]) -> str:
        """`send_frames` without waiting for the client (WholeWrites.try_send says what it returns)."""
        if not self.connected:
            raise ConnectionClosed()
        return self.wire.try_send(frames[0] if len(frames) == 1 else b"".join(frames))

    def finish_sending(self) -> None:
        """Write what `try_send_frames` left, waiting for the client as `send_frames` does."""
        self.wire.send(b"")

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        if not self.connected:
            raise ConnectionClosed()
        self.connected = False
        try:
            self.wire.send(close_frame(code or 1000, reason))
        except OSError:
            pass

    # -- in ----------------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The next message, or None when `timeout` seconds pass without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._inbox:
            if not self.connected:
                raise ConnectionClosed()
            now = time.monotonic()
            if deadline is not None and deadline <= now:
                return None
            wake = min((t for t in (deadline, self._next_ping) if t is not None), default=None)
            came = self._read_within(None if wake is None else max(0.0, wake - now))
            if not came and self._next_ping is not None and self._next_ping <= time.monotonic():
                self._ping()
        return self._inbox.pop(0)

    def _ping(self) -> None:
        if self._awaiting_pong:
            self.close(CLOSE_POLICY_VIOLATION, "Ping/Pong timeout")
            return
        self._awaiting_pong = True
        self._next_ping = time.monotonic() + self._ping_every
        self.wire.send(PING_FRAME)

    def _read_within(self, seconds: float | None) -> bool:
        """Take in what the client sends within `seconds` (None: no limit); False if nothing came."""
        wire = self.wire
        try:
            if wire.cooperative:
                # gevent's socket waits on its own read watcher: nothing is made per wait but a timer.
                wire.raw.settimeout(seconds)
                data = wire.raw.recv(RECEIVE_BYTES)
            elif _readable(wire, seconds):
                data = wire.recv(RECEIVE_BYTES)
            else:
                return False
        except TimeoutError:
            return False
        except OSError:
            data = b""
        if not data:
            self._lost()
            return True
        try:
            self._parser.receive_data(data)
            self._handle_events()
        except LocalProtocolError:
            self._lost()
        return True

    def _handle_events(self) -> None:
        for event in self._parser.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self._partial.append(event.data)
                self._partial_size += len(event.data)
                if self._partial_size > self._max_message:
                    self.close(CLOSE_MESSAGE_TOO_BIG, "message too big")
                    return
                if event.message_finished:
                    parts, self._partial, self._partial_size = self._partial, [], 0
                    text = isinstance(event, TextMessage)
                    self._inbox.append("".join(parts) if text else bytes(b"".join(parts)))
            elif isinstance(event, Pong):
                self._awaiting_pong = False
            elif isinstance(event, Ping):
                self.wire.send(pong_frame(event.payload))
            elif isinstance(event, CloseConnection):
                # The client's close (or wsproto's for a protocol error): answered, then the end.
                if self.connected:
                    self.close(event.code, event.reason)
                return

    def _lost(self) -> None:
        self.connected = False


def _readable(wire: WholeWrites, seconds: float | None) -> bool:
    fileno = wire.fileno()
    if fileno < 0:
        return True  # the socket is gone: the read that follows says so
    poller = select.poll()  # gevent's when patched: the wait holds up no other greenlet
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(None if seconds is None else seconds * 1000))


def _accept_response(key: str) -> bytes:
    """The 101 answer (entrypoints/ws/handshake.py has already refused a malformed upgrade)."""
    accept = base64.b64encode(hashlib.sha1(key.strip().encode() + ACCEPT_GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def _raw_socket(environ: dict[str, Any]) -> tuple[Any, str]:
    """The client's socket, where each server puts it in the WSGI environ."""
    for key, mode in (("gunicorn.socket", "gunicorn"), ("werkzeug.socket", "werkzeug")):
        if key in environ:
            return environ[key], mode
    raise RuntimeError("this server does not hand websocket sockets to the application")
