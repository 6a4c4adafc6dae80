"""A websocket opened with a session-bound token closes with 4401 when its session ends (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.memory.notify import InProcessNotifier
from adapters.memory.sessions import MemorySessionStore
from application.sessions.guard import SessionGuard
from application.sessions.topics import SESSIONS_ENDED_TOPIC, session_ended_publication
from application.shared import Actor
from domain.sessions.model import Session, SessionPolicy, new_session_id
from entrypoints.ws.connection import Connection
from entrypoints.ws.endpoint import CLOSE_UNAUTHENTICATED, close_when_session_ends
from tests.unit.fakes import FakeClock
from tests.unit.ws.test_subscriptions import FakeSocket, wait_for

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def setup(session_bound: bool = True):
    store, clock, hub = MemorySessionStore(), FakeClock(T0), InProcessNotifier()
    session = Session.start(new_session_id(T0), 7, T0, SessionPolicy())
    store.create(session)
    guard = SessionGuard(store.get, clock)
    hub.subscribe(SESSIONS_ENDED_TOPIC.name, guard.on_publication)
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(7, session_id=session.id if session_bound else None)
    return hub, guard, store, session, ws, conn


def test_the_end_published_by_any_process_closes_the_socket_with_4401():
    hub, guard, _, session, ws, conn = setup()
    close_when_session_ends(conn, lambda: guard)
    assert ws.closed_with is None
    hub.publish([session_ended_publication(session.id)])
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_UNAUTHENTICATED
    assert ws.sent[-1]["code"] == "unauthenticated"


def test_a_session_that_ended_before_the_watch_closes_at_once():
    _, guard, store, session, ws, conn = setup()
    store.end(store.get(session.id), T0)
    close_when_session_ends(conn, lambda: guard)
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_UNAUTHENTICATED


def test_a_lost_publication_is_caught_by_the_sweep():
    _, guard, store, session, ws, conn = setup()
    close_when_session_ends(conn, lambda: guard)
    guard.staleness = 0
    store.end(store.get(session.id), T0)  # ended elsewhere; nothing published here
    guard.sweep()
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_UNAUTHENTICATED


def test_plain_credentials_are_not_watched():
    hub, guard, _, session, ws, conn = setup(session_bound=False)
    stop = close_when_session_ends(conn, lambda: (_ for _ in ()).throw(AssertionError("guard built")))
    stop()
    hub.publish([session_ended_publication(session.id)])
    assert ws.closed_with is None
    conn.close()
