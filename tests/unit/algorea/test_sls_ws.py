"""AlgoREA's serverless websocket on the memory profile: the upgrade's identity token, the
`forum.subscribe` / `forum.unsubscribe` / `heartbeat` actions in the shared action table, AlgoREA's
pushes, `notification.new` for followers, and `since` giving exactly what was missed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from application.forum.topics import event_publication
from entrypoints.ws import algorea
from entrypoints.ws.connection import Connection
from entrypoints.ws.protocol import Session, dispatch
from entrypoints.ws.topics import TopicRegistry, registered_topics
from tests.unit.algorea.support import (
    ITEM,
    KEY,
    LEARNER,
    NOW,
    OTHER,
    SLS,
    TRAINER,
    bearer,
    identity_token,
    make_app,
    thread_token,
)
from tests.unit.auth.keys import rsa_key
from tests.unit.fakes import FakeClock
from tests.unit.ws.test_subscriptions import FakeSocket, wait_for

WS = "/sls/ws"
UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
START_MS = int(NOW.timestamp() * 1000)


class Socket:
    """What the route builds for an accepted upgrade, on a socket that records what it is sent."""

    def __init__(self, app, user: int):
        container = app.container
        self.ws = FakeSocket()
        self.conn = Connection(self.ws)
        self.conn.actor = container.core.authenticator().authenticate(bearer(identity_token(user)))
        hub = container.core.hub()
        self.session = Session(self.conn, TopicRegistry(registered_topics()), hub,
                               container.core.subscription_store(), container.core.clock())
        self.stop = algorea.forward_notifications(self.conn, hub)

    def send(self, frame: dict) -> None:
        dispatch(self.session, frame)

    def subscribe(self, token: str, **extra) -> None:
        self.send({"action": "forum.subscribe", "token": token, **extra})

    def frames(self, settle: float = 0.05) -> list[dict]:
        """Everything sent so far, once the writer has drained."""
        marker = {"marker": True}
        self.conn.send(marker)
        wait_for(lambda: marker in self.ws.sent)
        sent = [f for f in self.ws.sent if f != marker]
        self.ws.sent.clear()
        return sent

    def close(self) -> None:
        self.stop()
        self.conn.close(flush=False)
        self.conn.remove_all()


@pytest.fixture
def sockets(app, clock):
    opened: list[Socket] = []

    def open_socket(user: int) -> Socket:
        opened.append(Socket(app, user))
        return opened[-1]

    yield open_socket
    for s in opened:
        s.close()


def post(client, text: str, uuid: str, user: int = LEARNER):
    response = client.post(SLS + "/messages", json={"text": text, "uuid": uuid}, headers=bearer(thread_token(user)))
    assert response.status_code == 201, response.get_json()


def pushed(text: str, uuid: str, author: int, at_ms: int) -> dict:
    return {"action": "forum.message.new", "participantId": str(LEARNER), "itemId": str(ITEM),
            "authorId": str(author), "time": at_ms, "text": text, "uuid": uuid}


# -- the upgrade -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [
    None,
    pytest.param(lambda: thread_token(), id="thread token"),
    pytest.param(lambda: identity_token(now=NOW - timedelta(hours=3)), id="expired"),
    pytest.param(lambda: identity_token(key=rsa_key("other")), id="wrong key"),
    pytest.param(lambda: "garbage", id="garbage"),
])
def test_the_upgrade_without_a_good_identity_token_is_refused_with_401(client, token):
    query = "" if token is None else f"?token={token()}"
    refused = client.get(WS + query, headers=UPGRADE)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "authentication error"
    assert "Upgrade" not in refused.headers


# -- pushes ------------------------------------------------------------------------------------------


def test_a_subscriber_gets_each_new_message_and_the_sender_its_own(client, clock, sockets):
    learner, trainer = sockets(LEARNER), sockets(TRAINER)
    learner.subscribe(thread_token(LEARNER))
    trainer.subscribe(thread_token(TRAINER))
    assert learner.frames() == [] and trainer.frames() == []  # no reply, as AlgoREA's serverless
    post(client, "hello", "u-1", user=TRAINER)
    assert learner.frames() == [pushed("hello", "u-1", TRAINER, START_MS)]
    assert trainer.frames() == [pushed("hello", "u-1", TRAINER, START_MS)]


def test_subscribing_twice_is_harmless_and_unsubscribing_stops_the_pushes(client, sockets):
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER))
    learner.subscribe(thread_token(LEARNER))
    post(client, "one", "u-1", user=TRAINER)
    assert learner.frames() == [pushed("one", "u-1", TRAINER, START_MS)]
    learner.send({"action": "forum.unsubscribe", "token": thread_token(LEARNER)})
    post(client, "two", "u-2", user=TRAINER)
    assert learner.frames() == []


def test_heartbeat_is_answered_with_nothing(sockets):
    learner = sockets(LEARNER)
    learner.send({"action": "heartbeat"})
    assert learner.frames() == []


def test_submissions_and_grades_are_pushed_in_algoreas_shape(app, sockets):
    from application.forum import history
    from application.shared import Actor
    from domain.forum import events as ev

    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER))
    deps, service = app.container.forum.deps(), Actor(None, frozenset({history.TASK_EVENTS_SCOPE}))
    history.record_task_event(deps, service, ev.submission(KEY, 3, 12, NOW))
    history.record_task_event(deps, service, ev.grade_updated(KEY, 3, 12, 80.0, NOW))
    thread = {"participantId": str(LEARNER), "itemId": str(ITEM)}
    assert learner.frames() == [
        {"action": "forum.submission.new", "answerId": "12", **thread, "attemptId": "3", "authorId": str(LEARNER),
         "time": START_MS},
        {"action": "forum.grade.update", "answerId": "12", **thread, "attemptId": "3", "score": 80.0,
         "validated": False, "time": START_MS},
    ]


def test_a_follower_who_does_not_watch_gets_a_notification_a_watcher_does_not(client, sockets):
    follower, watcher = sockets(OTHER), sockets(LEARNER)
    client.post(SLS + "/follows", headers=bearer(thread_token(OTHER)))
    client.post(SLS + "/follows", headers=bearer(thread_token(LEARNER)))
    watcher.subscribe(thread_token(LEARNER))
    post(client, "hello", "u-1", user=TRAINER)
    [frame] = follower.frames()
    assert frame == {"action": "notification.new", "notification": {
        "sk": START_MS, "notificationType": "forum.new_message",
        "payload": {"participantId": str(LEARNER), "itemId": str(ITEM), "time": START_MS, "text": "hello",
                    "authorId": str(TRAINER), "uuid": "u-1"}}}
    assert watcher.frames() == [pushed("hello", "u-1", TRAINER, START_MS)]


# -- credentials of the frames -----------------------------------------------------------------------

BAD_FRAME_TOKENS = {
    "missing": (None, "unauthenticated"),
    "expired": (lambda: thread_token(now=NOW - timedelta(hours=3)), "unauthenticated"),
    "wrong key": (lambda: thread_token(key=rsa_key("other")), "unauthenticated"),
    "identity token": (lambda: identity_token(), "unauthenticated"),
    "another user's": (lambda: thread_token(OTHER), "forbidden"),
}


@pytest.mark.parametrize("kind", list(BAD_FRAME_TOKENS))
def test_subscribing_without_a_good_thread_token_of_ones_own_is_refused_and_delivers_nothing(client, sockets, kind):
    make, code = BAD_FRAME_TOKENS[kind]
    learner = sockets(LEARNER)
    learner.send({"action": "forum.subscribe", **({} if make is None else {"token": make()})})
    [refusal] = learner.frames()
    assert refusal["action"] == "error" and refusal["request"] == "forum.subscribe" and refusal["code"] == code
    post(client, "secret", "u-1", user=TRAINER)
    assert learner.frames() == []


def test_a_thread_token_subscribes_its_own_thread_only(client, sockets):
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER, item=101))  # the learner's other (closed) thread
    post(client, "not for 101", "u-1", user=TRAINER)
    assert learner.frames() == []


def test_a_subscription_ends_with_its_thread_token(client, clock, sockets):
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER, exp=int(NOW.timestamp()) + 60))
    clock.advance(seconds=61)
    learner.conn.recheck_access()
    assert [f["code"] for f in learner.frames()] == ["forbidden"]
    post(client, "late", "u-1", user=TRAINER)
    assert learner.frames() == []


@pytest.mark.parametrize("since", ["abc", -1, True, 1e20, float("nan")])
def test_a_malformed_since_is_refused(sockets, since):
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER), since=since)
    [refusal] = learner.frames()
    assert refusal["action"] == "error" and refusal["code"] == "bad_request"


# -- since -------------------------------------------------------------------------------------------


def test_since_pushes_exactly_what_was_missed_even_several_in_one_millisecond(client, clock, sockets):
    post(client, "seen", "u-1", user=TRAINER)
    clock.advance(milliseconds=10)
    post(client, "missed 1", "u-2", user=TRAINER)
    post(client, "missed 2", "u-3", user=OTHER)  # the same millisecond
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER), since=START_MS)
    assert learner.frames() == [pushed("missed 1", "u-2", TRAINER, START_MS + 10),
                                pushed("missed 2", "u-3", OTHER, START_MS + 10)]
    post(client, "live", "u-4", user=TRAINER)
    assert learner.frames() == [pushed("live", "u-4", TRAINER, START_MS + 10)]


def test_since_the_newest_message_pushes_nothing_and_since_before_everything_pushes_all(client, clock, sockets):
    post(client, "a", "u-1", user=TRAINER)
    clock.advance(milliseconds=3)
    post(client, "b", "u-2", user=TRAINER)
    up_to_date = sockets(LEARNER)
    up_to_date.subscribe(thread_token(LEARNER), since=START_MS + 3)
    assert up_to_date.frames() == []
    fresh = sockets(TRAINER)
    fresh.subscribe(thread_token(TRAINER), since=START_MS - 1)
    assert [f["uuid"] for f in fresh.frames()] == ["u-1", "u-2"]


def test_a_message_posted_while_subscribing_is_pushed_once(client, clock, sockets, monkeypatch):
    """It reaches the subscription live (registered first) and is read with what was missed."""
    post(client, "seen", "u-1", user=TRAINER)
    real = algorea.position_seen_at

    def racing(deps, key, since):
        clock.advance(milliseconds=1)
        post(client, "racing", "u-2", user=TRAINER)  # between the since lookup and the history read
        return real(deps, key, since)

    monkeypatch.setattr(algorea, "position_seen_at", racing)
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER), since=START_MS)
    assert learner.frames() == [pushed("racing", "u-2", TRAINER, START_MS + 1)]


def test_a_live_event_also_read_from_the_store_is_pushed_once(app, client, clock, sockets):
    post(client, "seen", "u-1", user=TRAINER)
    clock.advance(milliseconds=1)
    post(client, "missed", "u-2", user=TRAINER)
    learner = sockets(LEARNER)
    learner.subscribe(thread_token(LEARNER), since=START_MS)
    assert [f["uuid"] for f in learner.frames()] == ["u-2"]
    deps = app.container.forum.deps()
    with deps.reader() as uow:
        [missed] = uow.events.before(KEY, None, 1)
    app.container.core.hub().publish([event_publication(missed)])  # a fan-out delivering it again
    assert learner.frames() == []


def test_the_protocol_table_has_algoreas_actions_beside_parleys():
    from entrypoints.ws.protocol import HANDLERS

    assert {"subscribe", "unsubscribe", "ping", "forum.subscribe", "forum.unsubscribe", "heartbeat"} <= set(HANDLERS)
    assert json.loads(json.dumps(algorea.error_frame("forum.subscribe", "forbidden", "no")))["action"] == "error"


def test_the_websocket_path_is_configurable(keys):
    client = make_app(keys, FakeClock(NOW), algorea_ws_path="/serverless/socket").test_client()
    assert client.get("/serverless/socket", headers=UPGRADE).status_code == 401  # the route, refusing no token
    assert client.get(WS, headers=UPGRADE).status_code == 404


@pytest.mark.parametrize("path", ["/ws", "/forum/ws", "/sls/forum/ws", "/sls/notifications", "ws"])
def test_a_websocket_path_over_another_api_stops_the_start(keys, path):
    with pytest.raises(ValueError, match="PARLEY_ALGOREA_WS_PATH"):
        make_app(keys, FakeClock(NOW), algorea_ws_path=path)
