"""The websocket's credentials over time (issue 11, defects 2 and 4): a credential that expires
closes the socket at its exp, revoked grants stop delivery within a bound of seconds, and a thread
token hears nothing but its own thread."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.memory.notify import InProcessNotifier
from application.delivery.topics import user_topic
from application.forum import messages
from application.forum.topics import access_recheck_publication
from application.shared import Actor, Publication, ThreadClaims
from entrypoints.ws.connection import Connection
from entrypoints.ws.endpoint import (
    CLOSE_UNAUTHENTICATED,
    RECHECK_SECONDS,
    _listen_to_own_topic,
    listen_for_access_rechecks,
    serve,
)
from entrypoints.ws.protocol import Session, dispatch
from tests.unit.fakes import make_forum
from tests.unit.forum.test_use_cases import HELPER_VALIDATED, HELPERS, ITEM, KEY, LEARNER, open_thread, tables
from tests.unit.ws.sessions import forum_session
from tests.unit.ws.test_subscriptions import _publishing_to, wait_for

SUBSCRIBE = {"action": "subscribe", "id": "s", "item_id": str(ITEM), "participant_id": str(LEARNER)}
# A socket whose client never stops sending (or a loop that never notices expiry) ends the test here.
GIVE_UP_AFTER = timedelta(hours=3)


class ScriptedSocket:
    """Frames to hand out in order; every receive() lets the simulated clock run for its timeout."""

    def __init__(self, clock, frames=()):
        self.clock, self.frames = clock, list(frames)
        self.started = clock.now()
        self.sent: list[dict] = []
        self.sent_at: list = []
        self.closed_with: tuple | None = None
        self.closed_at = None
        self.conn: Connection | None = None

    def receive(self, timeout=None):
        time.sleep(0.01)  # let the connection's writer run what it was given
        if self.clock.now() - self.started > GIVE_UP_AFTER:
            self.conn.close()
            return None
        self.clock.advance(seconds=timeout)
        return json.dumps(self.frames.pop(0)) if self.frames else None

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))
        self.sent_at.append(self.clock.now())

    def close(self, code=None, reason=None) -> None:
        self.closed_with, self.closed_at = (code, reason), self.clock.now()


@pytest.fixture
def live():
    deps, _, _, grants, clock = make_forum(tables())
    hub = InProcessNotifier()
    deps = replace(deps, uow=_publishing_to(deps.uow, hub))
    open_thread(deps)
    return deps, hub, grants, clock


def connect(deps, hub, ws, actor: Actor) -> Session:
    conn = Connection(ws)
    conn.actor = actor
    ws.conn = conn
    session = forum_session(conn, deps, hub)
    dispatch(session, SUBSCRIBE)
    wait_for(lambda: any(f.get("type") in ("subscribed", "error") for f in ws.sent))
    return session


def run_serve(session: Session) -> None:
    worker = threading.Thread(target=serve, args=(session.conn.ws, session), daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "serve() did not return"


def test_a_user_token_that_expires_closes_the_socket_at_its_exp(live):
    deps, hub, _, clock = live
    exp = clock.now() + timedelta(seconds=95)
    ws = ScriptedSocket(clock)
    session = connect(deps, hub, ws, Actor(LEARNER, expires_at=exp))
    run_serve(session)
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_UNAUTHENTICATED
    assert exp <= ws.closed_at <= exp + timedelta(seconds=1), "closed at the exp, not a check interval later"
    assert ws.sent[-1]["code"] == "unauthenticated"
    assert session.conn.subscriptions == {} and hub.listener_count() == 0


def test_after_its_exp_a_subscribe_frame_is_refused_with_4401(live):
    deps, hub, _, clock = live
    exp = clock.now() + timedelta(seconds=1)
    ws = ScriptedSocket(clock)
    session = connect(deps, hub, ws, Actor(LEARNER, expires_at=exp))
    clock.advance(seconds=5)  # the frame below arrives after the exp
    ws.frames = [dict(SUBSCRIBE, id="late")]
    run_serve(session)
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_UNAUTHENTICATED
    assert not [f for f in ws.sent if f.get("id") == "late"]


def test_revoked_grants_stop_delivery_at_the_periodic_recheck(live):
    deps, hub, grants, clock = live
    ws = ScriptedSocket(clock)
    session = connect(deps, hub, ws, Actor(HELPER_VALIDATED))
    assert ws.sent[-1]["type"] == "subscribed"
    revoked_at = clock.now()
    grants.parents[HELPER_VALIDATED].discard(HELPERS)  # changed outside Parley: nothing is published

    def stop_when_refused():
        while not any(f.get("code") == "forbidden" for f in ws.sent):
            time.sleep(0.01)
        session.conn.close()

    threading.Thread(target=stop_when_refused, daemon=True).start()
    run_serve(session)
    index, refused = next((i, f) for i, f in enumerate(ws.sent) if f.get("code") == "forbidden")
    assert refused["id"] == "s"
    assert ws.sent_at[index] - revoked_at <= timedelta(seconds=RECHECK_SECONDS), "the documented bound"
    assert session.conn.subscriptions == {}


def test_a_published_access_recheck_stops_delivery_at_once(live):
    deps, hub, grants, clock = live
    ws = ScriptedSocket(clock)
    session = connect(deps, hub, ws, Actor(HELPER_VALIDATED))
    stop = listen_for_access_rechecks(session.conn, hub)
    try:
        grants.parents[HELPER_VALIDATED].discard(HELPERS)
        hub.publish([access_recheck_publication()])  # what `parley grants import` / `recheck` publish
        wait_for(lambda: any(f.get("code") == "forbidden" for f in ws.sent), timeout=2)
        messages.post_message(deps, Actor(LEARNER), KEY, "not for the old helper", "u1")
        time.sleep(0.1)
        assert not [f for f in ws.sent if f.get("type") == "event"]
        assert session.conn.subscriptions == {}
    finally:
        stop()
        session.conn.close()


def test_a_reader_who_keeps_access_keeps_the_subscription_after_a_recheck(live):
    deps, hub, _, clock = live
    ws = ScriptedSocket(clock)
    session = connect(deps, hub, ws, Actor(HELPER_VALIDATED))
    stop = listen_for_access_rechecks(session.conn, hub)
    try:
        hub.publish([access_recheck_publication()])
        messages.post_message(deps, Actor(LEARNER), KEY, "still for the helper", "u1")
        wait_for(lambda: any(f.get("type") == "event" for f in ws.sent))
        assert not [f for f in ws.sent if f.get("type") == "error"]
    finally:
        stop()
        session.conn.close()


def _notification() -> Publication:
    return Publication(user_topic(LEARNER), {"topic": "notification.new", "notification": {"id": "n1"}})


def test_a_thread_token_socket_gets_no_notifications_a_user_socket_does(live):
    deps, hub, _, clock = live
    claims = ThreadClaims(ITEM, LEARNER, LEARNER, True, False, True, clock.now() + timedelta(hours=1),
                          decided_by_issuer=False)
    received = {}
    for name, actor in (("thread", Actor(LEARNER, thread_claims=claims)), ("user", Actor(LEARNER))):
        ws = ScriptedSocket(clock)
        conn = Connection(ws)
        conn.actor = actor
        stop = _listen_to_own_topic(conn, hub)
        hub.publish([_notification()])
        time.sleep(0.05)
        received[name] = [f for f in ws.sent if "notification" in f]
        stop()
        conn.close()
    assert received["thread"] == [] and len(received["user"]) == 1


def test_grants_recheck_without_shared_fanout_says_the_periodic_bound_applies(monkeypatch, capsys):
    from entrypoints.cli.main import main

    for name in [n for n in os.environ if n.startswith("PARLEY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PARLEY_PROFILE", "memory")
    assert main(["grants", "recheck"]) == 0
    assert f"within {RECHECK_SECONDS} s" in capsys.readouterr().err
