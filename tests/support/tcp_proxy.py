"""A TCP forwarder between a server under test and one backend, which a test can take down and up.

The machine's PostgreSQL and Redis serve other test sessions and must never be stopped; the outage
tests point Parley at one of these proxies instead and cut *it*:

- `down("refuse")`: existing connections are closed and the port stops listening, so new
  connections are refused at once (a stopped server on a live host).
- `down("blackhole")`: existing connections are closed and new ones are accepted but never
  answered nor forwarded (a hung server, or one behind a broken load balancer). Only client-side
  timeouts get a caller out of this one.
- `up()`: forwarding again on the same port, as when the backend comes back.

One thread accepts; each forwarded connection has one thread per direction. Everything binds to
127.0.0.1.
"""

from __future__ import annotations

import select
import socket
import threading
import time

MODES = ("refuse", "blackhole")


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.mode = "up"
        self.accepted = 0  # connections accepted (forwarded or black-holed), for tests of the tests
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stop_accepting = threading.Event()
        self._open: set[socket.socket] = set()  # both ends of every forwarded connection
        self._held: list[socket.socket] = []  # black-holed connections

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def close(self) -> None:
        self._stop_listening()
        with self._lock:
            self.mode = "closed"
            doomed = [*self._open, *self._held]
            self._open.clear()
            self._held.clear()
        for sock in doomed:
            _shut(sock)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def down(self, mode: str = "refuse") -> None:
        """Close every forwarded connection; refuse, or accept and ignore, new ones."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        with self._lock:
            self.mode = mode
            doomed = list(self._open)
            self._open.clear()
        if mode == "refuse":
            self._stop_listening()
        for sock in doomed:
            _shut(sock)

    def up(self) -> None:
        """Forward again, on the same port; black-holed connections are dropped."""
        with self._lock:
            self.mode = "up"
            held, self._held = self._held, []
        for sock in held:
            _shut(sock)
        if self._listener is None:
            self._listen()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- internals -------------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                listener.bind((self.host, self.port))
                break
            except OSError:
                # Coming back up on the port we had: a moment's wait if the kernel still holds it.
                if not self.port or time.monotonic() > deadline:
                    listener.close()
                    raise
                time.sleep(0.05)
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop_accepting = threading.Event()
        self._acceptor = threading.Thread(
            target=self._accept_loop, args=(listener, self._stop_accepting), name=f"proxy-{self.port}", daemon=True
        )
        self._acceptor.start()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stop_accepting.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        listener.close()

    def _accept_loop(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.05)
            if not ready or stop.is_set():
                continue
            try:
                client, _ = listener.accept()
            except OSError:
                continue
            with self._lock:
                self.accepted += 1
                mode = self.mode
                if mode == "blackhole":
                    self._held.append(client)  # the kernel completed the handshake; nobody will answer
                    continue
            if mode != "up":
                _shut(client)
                continue
            threading.Thread(target=self._forward, args=(client,), name="proxy-conn", daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _shut(client)
            return
        upstream.settimeout(None)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self.mode != "up":  # went down while we were connecting
                _shut(client)
                _shut(upstream)
                return
            self._open.update((client, upstream))
        threading.Thread(target=self._pump, args=(upstream, client), name="proxy-down", daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _shut(source)
            _shut(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
