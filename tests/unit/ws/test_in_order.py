"""Per-thread order on a socket when live events arrive out of order (several servers publishing
through Redis, held publications sent late, a reconnect's history racing the live stream).

A thread's events carry consecutive sequence numbers, so a socket never sends event n+2 before
n+1: a live event that skips ahead is held back and the gap filled from the store, in order."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from adapters.memory.notify import InProcessNotifier
from application.forum import messages
from application.shared import Actor
from entrypoints.ws.connection import Connection
from entrypoints.ws.protocol import dispatch
from tests.unit.fakes import make_forum
from tests.unit.forum.test_use_cases import ITEM, KEY, LEARNER, open_thread, tables
from tests.unit.ws.sessions import forum_session
from tests.unit.ws.test_subscriptions import FakeSocket, _publishing_to, wait_for


@pytest.fixture
def live():
    deps, _, _, _, _ = make_forum(tables())
    hub = InProcessNotifier()
    return replace(deps, uow=_publishing_to(deps.uow, hub)), hub


SUBSCRIBE = {"action": "subscribe", "id": "s", "item_id": str(ITEM), "participant_id": str(LEARNER)}


def _events(ws: FakeSocket) -> list[str]:
    seen = []
    for frame in ws.sent:
        if frame.get("type") == "subscribed":
            seen += [e.get("uuid") or e["type"] for e in frame["events"]]
        elif frame.get("type") == "event":
            seen.append(frame["event"].get("uuid") or frame["event"]["type"])
    return seen


def _unpublished(deps):
    """Posts that are stored but whose publications this socket's hub does not see (yet)."""
    quiet = InProcessNotifier()
    quiet.keep_history = True
    return replace(deps, uow=_publishing_to(deps.uow, quiet)), quiet


def _subscribe(deps, hub, ws: FakeSocket, since: str | None = None) -> Connection:
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(forum_session(conn, deps, hub), {**SUBSCRIBE, **({"since": since} if since else {})})
    wait_for(lambda: any(f.get("type") == "subscribed" for f in ws.sent))
    return conn


def test_a_live_event_that_skips_ahead_waits_for_the_missing_one_from_the_store(live):
    deps, hub = live
    open_thread(deps)
    ws = FakeSocket()
    _subscribe(deps, hub, ws)
    quiet, held = _unpublished(deps)
    messages.post_message(quiet, Actor(LEARNER), KEY, "first", "u1")  # another server, publication late
    messages.post_message(deps, Actor(LEARNER), KEY, "second", "u2")  # reaches this hub at once
    wait_for(lambda: "u2" in _events(ws))
    hub.publish(held.published)  # the late publication of u1 arrives after all
    time.sleep(0.1)
    assert _events(ws) == ["thread_opened", "u1", "u2"]


def test_a_resumed_subscription_whose_live_stream_runs_ahead_of_its_history_misses_nothing(live):
    deps, hub = live
    open_thread(deps)
    first = FakeSocket()
    _subscribe(deps, hub, first)
    since = first.sent[0]["cursor"]
    quiet, _ = _unpublished(deps)
    for i in range(3):  # posted while the client was away, never published where it reconnects
        messages.post_message(quiet, Actor(LEARNER), KEY, f"away {i}", f"a{i}")
    ws = FakeSocket()
    _subscribe(deps, hub, ws, since=since)
    messages.post_message(quiet, Actor(LEARNER), KEY, "lost live", "lost")
    messages.post_message(deps, Actor(LEARNER), KEY, "live", "live")
    wait_for(lambda: "live" in _events(ws))
    time.sleep(0.1)
    assert _events(ws) == ["a0", "a1", "a2", "lost", "live"]


def test_a_resync_racing_live_events_sends_each_once_and_in_order(live):
    deps, hub = live
    open_thread(deps)
    ws = FakeSocket()
    _subscribe(deps, hub, ws)
    quiet, held = _unpublished(deps)
    for i in range(5):
        messages.post_message(quiet, Actor(LEARNER), KEY, f"m{i}", f"m{i}")
    hub.publish(held.published[3:])  # the newest arrive first ...
    hub.resync_all()  # ... the relay reconnects ...
    hub.publish(held.published[:3])  # ... and the held ones are flushed late
    messages.post_message(deps, Actor(LEARNER), KEY, "after", "after")
    wait_for(lambda: "after" in _events(ws))
    time.sleep(0.1)
    assert _events(ws) == ["thread_opened", "m0", "m1", "m2", "m3", "m4", "after"]
