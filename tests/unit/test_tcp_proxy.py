"""The outage tests' TCP proxy (tests/support/tcp_proxy.py) does what they rely on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def echo_server() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload)
        return s.recv(1024)


def test_it_forwards_then_refuses_then_black_holes_then_forwards_again_on_the_same_port(echo_server):
    with TcpProxy("127.0.0.1", echo_server) as proxy:
        port = proxy.port
        assert roundtrip(port) == b"ping"
        established = socket.create_connection(("127.0.0.1", port), timeout=2)
        established.sendall(b"a")
        assert established.recv(16) == b"a"

        proxy.down("refuse")
        assert established.recv(16) == b""  # existing connections are closed
        established.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)

        proxy.up()
        assert proxy.port == port and roundtrip(port) == b"ping"

        proxy.down("blackhole")
        with socket.create_connection(("127.0.0.1", port), timeout=2) as hung:  # accepted...
            hung.sendall(b"anyone?")
            hung.settimeout(0.3)
            with pytest.raises(TimeoutError):  # ...and never answered
                hung.recv(16)
            proxy.up()
            hung.settimeout(2)
            assert hung.recv(16) == b""  # dropped when the proxy comes back
        assert roundtrip(port, b"back") == b"back"
