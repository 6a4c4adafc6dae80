"""Websocket subscriptions without a server: access re-checked as it changes, slow clients cut off
without holding up the publisher, and failures during subscribe leave nothing behind."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest

from adapters.memory.notify import InProcessNotifier
from application.forum import messages, threads
from application.shared import Actor
from domain.forum.model import ThreadStatus, ThreadUpdate
from entrypoints.ws.connection import CLOSE_TOO_SLOW, OUTBOX_FRAMES, Connection
from entrypoints.ws.protocol import dispatch
from tests.unit.fakes import make_forum
from tests.unit.forum.test_use_cases import CLASS, HELPER_VALIDATED, ITEM, KEY, LEARNER, open_thread, tables
from tests.unit.ws.sessions import forum_session


class FakeSocket:
    def __init__(self, block: threading.Event | None = None):
        self.sent: list[dict] = []
        self.closed_with: tuple | None = None
        self._block = block

    def send(self, text: str) -> None:
        if self._block is not None:
            self._block.wait(10)
        self.sent.append(json.loads(text))

    def close(self, code=None, reason=None) -> None:
        self.closed_with = (code, reason)


def wait_for(predicate, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def live():
    deps, state, notifier, grants, clock = make_forum(tables())
    hub = InProcessNotifier()
    deps = replace(deps, uow=_publishing_to(deps.uow, hub))
    return deps, hub, grants


def _publishing_to(uow_factory, hub):
    def make():
        uow = uow_factory()
        uow._notifier = hub
        return uow

    return make


def subscribe(deps, hub, user: int, ws: FakeSocket) -> Connection:
    conn = Connection(ws)
    conn.actor = Actor(user)
    dispatch(
        forum_session(conn, deps, hub),
        {"action": "subscribe", "id": "s", "item_id": str(ITEM), "participant_id": str(LEARNER)},
    )
    wait_for(lambda: any(f.get("type") in ("subscribed", "error") for f in ws.sent))
    return conn


def test_a_reader_who_loses_access_stops_receiving_at_the_change(live):
    deps, hub, grants = live
    open_thread(deps)
    ws = FakeSocket()
    conn = subscribe(deps, hub, HELPER_VALIDATED, ws)
    assert ws.sent[-1]["type"] == "subscribed"
    grants.grant(CLASS, ITEM, can_request_help_to=(6,))
    threads.update_thread(
        deps, Actor(LEARNER), KEY, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=6)
    )
    messages.post_message(deps, Actor(LEARNER), KEY, "for group 6 only", "secret")
    wait_for(lambda: any(f.get("code") == "forbidden" for f in ws.sent))
    time.sleep(0.1)
    assert not [f for f in ws.sent if f.get("type") == "event"]  # neither the change nor the message
    assert conn.subscriptions == {} and hub.listener_count() == 0


def test_a_reader_who_keeps_access_gets_the_change_and_what_follows(live):
    deps, hub, _ = live
    open_thread(deps)
    ws = FakeSocket()
    subscribe(deps, hub, LEARNER, ws)
    threads.update_thread(deps, Actor(LEARNER), KEY, ThreadUpdate(status=ThreadStatus.WAITING_FOR_PARTICIPANT))
    messages.post_message(deps, Actor(LEARNER), KEY, "still here", "u1")
    wait_for(lambda: len([f for f in ws.sent if f.get("type") == "event"]) == 2)
    assert [f["event"]["type"] for f in ws.sent if f.get("type") == "event"] == ["status_changed", "message"]


def test_a_slow_client_is_cut_off_without_blocking_the_publisher(live):
    deps, hub, _ = live
    open_thread(deps)
    unblock = threading.Event()
    ws = FakeSocket(block=unblock)
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(
        forum_session(conn, deps, hub),
        {"action": "subscribe", "id": "s", "item_id": str(ITEM), "participant_id": str(LEARNER)},
    )
    started = time.monotonic()
    for i in range(OUTBOX_FRAMES + 50):
        messages.post_message(deps, Actor(LEARNER), KEY, f"m{i}", f"u{i}")
    assert time.monotonic() - started < 8  # the writer is stuck on the first send, the posts are not
    assert conn.closed
    unblock.set()
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_TOO_SLOW
    wait_for(lambda: hub.listener_count() == 0)


def test_a_failing_history_read_leaves_no_listener(live):
    deps, hub, _ = live
    open_thread(deps)
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    calls = {"n": 0}

    def uow_then_fail():
        calls["n"] += 1
        if calls["n"] > 1:  # the permission check passes, the history read fails
            raise RuntimeError("store down")
        return deps.uow()

    frame = {"action": "subscribe", "id": "s", "item_id": str(ITEM), "participant_id": str(LEARNER)}
    dispatch(forum_session(conn, replace(deps, uow=uow_then_fail, read_uow=uow_then_fail), hub), frame)
    wait_for(lambda: any(f.get("type") == "error" for f in ws.sent))
    assert conn.subscriptions == {} and hub.listener_count() == 0


def test_the_internal_access_check_never_reaches_clients(live):
    deps, hub, grants = live
    open_thread(deps)
    ws = FakeSocket()
    subscribe(deps, hub, LEARNER, ws)
    grants.grant(CLASS, ITEM, can_request_help_to=(6,))
    threads.update_thread(
        deps, Actor(LEARNER), KEY, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=6)
    )
    messages.post_message(deps, Actor(LEARNER), KEY, "hello", "u1")
    wait_for(lambda: any(f.get("type") == "event" for f in ws.sent))
    time.sleep(0.1)
    assert [f["type"] for f in ws.sent] == ["subscribed", "event"]
    assert ws.sent[-1]["event"]["uuid"] == "u1"


def test_a_resync_delivers_what_the_hub_never_saw_and_nothing_twice(live):
    deps, hub, _ = live
    open_thread(deps)
    ws = FakeSocket()
    subscribe(deps, hub, LEARNER, ws)
    messages.post_message(deps, Actor(LEARNER), KEY, "seen live", "u1")
    wait_for(lambda: len([f for f in ws.sent if f.get("type") == "event"]) == 1)
    # Posted while the fan-out was away (a Redis relay reconnecting): stored, never published here.
    lost = replace(deps, uow=_publishing_to(deps.uow, InProcessNotifier()))
    messages.post_message(lost, Actor(LEARNER), KEY, "missed", "u2")
    messages.post_message(lost, Actor(LEARNER), KEY, "missed too", "u3")
    time.sleep(0.05)
    assert [f["event"]["uuid"] for f in ws.sent if f.get("type") == "event"] == ["u1"]
    hub.resync_all()
    hub.resync_all()
    wait_for(lambda: len([f for f in ws.sent if f.get("type") == "event"]) >= 3)
    time.sleep(0.1)
    assert [f["event"]["uuid"] for f in ws.sent if f.get("type") == "event"] == ["u1", "u2", "u3"]
