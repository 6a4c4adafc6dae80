"""The validity cache (application/sessions/guard.py): cheap, and stale by at most its bound."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.memory.sessions import MemorySessionStore
from application.sessions.guard import SessionGuard
from application.sessions.topics import session_ended_publication
from application.shared import Publication
from domain.sessions.model import Session, SessionPolicy, new_session_id
from tests.unit.fakes import FakeClock

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


class Ticks:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make(staleness=2.0):
    store, clock, ticks = MemorySessionStore(), FakeClock(T0), Ticks()
    session = Session.start(new_session_id(T0), 7, T0, SessionPolicy())
    store.create(session)
    return SessionGuard(store.get, clock, staleness_seconds=staleness, monotonic=ticks), store, session, clock, ticks


def test_a_live_session_is_read_once_per_staleness_bound():
    guard, _, session, _, ticks = make()
    assert all(guard.is_live(session.id) for _ in range(100))
    assert guard.reads == 1
    ticks.now += 2.0
    assert guard.is_live(session.id) and guard.reads == 2


def test_an_end_in_another_process_without_publication_is_seen_within_the_bound():
    guard, store, session, clock, ticks = make()
    assert guard.is_live(session.id)
    store.end(store.get(session.id), clock.now())  # another process ended it; its publication is lost
    ticks.now += 1.9
    assert guard.is_live(session.id), "within the bound the cached answer may still say live"
    ticks.now += 0.1
    assert not guard.is_live(session.id)


def test_the_publication_ends_it_at_once_and_nothing_revives_it():
    guard, store, session, _, _ = make()
    assert guard.is_live(session.id)
    guard.on_publication(session_ended_publication(session.id))
    assert not guard.is_live(session.id)
    # A read that started before the end and finishes after it must not bring it back.
    guard._check = lambda sid: True  # noqa: SLF001 (a store read racing the end)
    assert not guard.is_live(session.id)


def test_running_out_is_refused_from_the_deadline_even_when_cached():
    guard, _, session, clock, _ = make()
    assert guard.is_live(session.id)
    clock.current = session.expires_at
    assert not guard.is_live(session.id)


def test_watchers_hear_the_end_once_and_a_resync_rereads_every_session():
    guard, store, session, clock, _ = make()
    heard = []
    guard.watch(session.id, lambda: heard.append("ended"))
    assert guard.is_live(session.id)
    store.end(store.get(session.id), clock.now())
    guard.on_publication(Publication("sessions.ended", {"resync": True}))  # the fan-out reconnected
    assert heard == ["ended"] and not guard.is_live(session.id)
    guard.ended(session.id)
    assert heard == ["ended"]


def test_unwatched_sockets_hear_nothing():
    guard, _, session, _, _ = make()
    heard = []
    unwatch = guard.watch(session.id, lambda: heard.append("ended"))
    unwatch()
    guard.ended(session.id)
    assert heard == []
    assert guard.reads == 0
