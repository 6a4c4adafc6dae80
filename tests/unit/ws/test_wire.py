"""WholeWrites: a send writes all its bytes or ends the connection (entrypoints/ws/wire.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from entrypoints.ws.wire import SendStalled, WholeWrites


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    for s in (server, client):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    yield server, client
    server.close()
    client.close()


def read_exactly(sock: socket.socket, n: int, pause: float = 0.0) -> bytes:
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(min(8192, n - len(got)))
        if not chunk:
            break
        got += chunk
        time.sleep(pause)
    return bytes(got)


def test_every_byte_reaches_a_slow_reader_and_sends_never_interleave(pair):
    server, client = pair
    wire = WholeWrites(server, stall_seconds=5)
    frames = [bytes([65 + n]) * 300_000 for n in range(4)]
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(read_exactly(client, 1_200_000, pause=0.0005)))
    reader.start()
    writers = [threading.Thread(target=wire.send, args=(frame,)) for frame in frames]
    for w in writers:
        w.start()
    for w in writers:
        w.join(10)
    reader.join(10)
    (data,) = received
    assert len(data) == 1_200_000
    # Each frame arrived whole, one after another: four runs of one letter each.
    runs = [data[i * 300_000 : (i + 1) * 300_000] for i in range(4)]
    assert all(run == run[:1] * 300_000 for run in runs)
    assert sorted(run[:1] for run in runs) == [b"A", b"B", b"C", b"D"]


def test_a_client_that_takes_nothing_has_its_connection_shut(pair):
    server, client = pair
    wire = WholeWrites(server, stall_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(SendStalled):
        wire.send(b"x" * 2_000_000)
    assert time.monotonic() - started < 3
    with pytest.raises(OSError):
        wire.send(b"after")  # nothing may follow half a frame
    client.settimeout(2)
    drained = 0
    while chunk := client.recv(65536):  # what was written, then the end of the stream
        drained += len(chunk)
    assert 0 < drained < 2_000_000


def test_other_socket_methods_are_the_sockets_own(pair):
    server, _ = pair
    wire = WholeWrites(server)
    assert wire.fileno() == server.fileno()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_frame_encoded_once_reads_back_as_the_same_text_at_every_length_boundary(size):
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import TextMessage

    from entrypoints.ws.wire import text_frame

    text = "é" * (size // 2) + "x" * (size % 2)
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(text_frame(text))
    (message,) = list(client.events())
    assert isinstance(message, TextMessage) and message.message_finished
    assert message.data == text


def test_a_write_that_cannot_finish_at_once_keeps_its_rest_first_in_line(pair):
    server, client = pair
    wire = WholeWrites(server, stall_seconds=5)
    big = b"A" * 12_000  # under the room check, over what the small buffers take at once
    assert wire.try_send(big) == "partly"
    assert wire.has_rest
    assert wire.try_send(b"B") == "busy"  # nothing may start before the rest
    reader = threading.Thread(target=lambda: received.append(read_exactly(client, 12_003)))
    received: list[bytes] = []
    reader.start()
    wire.send(b"CCC")  # the rest goes out first, then this
    reader.join(10)
    assert received == [big + b"CCC"]
    assert not wire.has_rest and wire.try_send(b"D") == "sent"
