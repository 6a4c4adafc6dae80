"""The dm topics on the websocket without a server: a member's own channel hears every new message
of their conversations (a new one included), `dm.group` resumes from `since` without gaps, and a
non-member learns nothing."""

from __future__ import annotations

import pytest

from adapters.memory.dm import MemoryDmState, MemoryDmUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.dm import conversations as conv
from application.dm import directory
from application.dm.ports import DmDeps
from application.shared import Actor
from entrypoints.ws.connection import Connection
from entrypoints.ws.dm import FAMILY, GroupTopic
from entrypoints.ws.endpoint import _listen_to_own_topic
from entrypoints.ws.protocol import Session, dispatch
from entrypoints.ws.topics import TopicRegistry
from tests.unit.fakes import FakeClock, make_forum
from tests.unit.ws.test_subscriptions import FakeSocket, wait_for

ANN, BOB, CAT = Actor(user_id=1), Actor(user_id=2), Actor(user_id=3)


@pytest.fixture
def live():
    hub = InProcessNotifier()
    state, clock = MemoryDmState(), FakeClock()
    deps = DmDeps(uow=lambda: MemoryDmUnitOfWork(state, hub), clock=clock)
    for actor, handle in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat")):
        directory.set_profile(deps, actor, handle, handle.title())
    forum = make_forum()[0]
    return deps, hub, clock, forum


def dm_session(conn: Connection, hub, deps: DmDeps, clock) -> Session:
    """A socket's session with the dm topic registered, as entrypoints/ws/topics.py registers it."""
    return Session(conn, TopicRegistry({FAMILY: lambda: GroupTopic(deps)}), hub, None, clock)


def connect(actor: Actor) -> tuple[Connection, FakeSocket]:
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = actor
    return conn, ws


def frames_of(ws, kind):
    return [f for f in ws.sent if f.get("type") == kind]


def test_a_members_own_channel_hears_new_messages_and_new_groups(live):
    deps, hub, clock, forum = live
    conn, ws = connect(BOB)
    stop = _listen_to_own_topic(conn, hub)
    sent = conv.send_to_handle(deps, ANN, "bob", "a new conversation")
    conv.send_in_group(deps, ANN, sent.group.uuid, "and another message")
    wait_for(lambda: len(frames_of(ws, "event")) == 2)
    first, second = frames_of(ws, "event")
    assert first["topic"] == "dm.message" and first["new_group"] is True
    assert first["message"]["message"] == "a new conversation" and first["group"]["user_handle"] == "ann"
    assert second["new_group"] is False and second["group"]["unread_count"] == 2
    stop()
    outsider, outsider_ws = connect(CAT)
    _listen_to_own_topic(outsider, hub)
    conv.send_in_group(deps, BOB, sent.group.uuid, "private")
    assert frames_of(outsider_ws, "event") == []


def test_a_group_subscription_resumes_from_since_without_gaps(live):
    deps, hub, clock, forum = live
    sent = conv.send_to_handle(deps, ANN, "bob", "m1")
    since = conv.list_messages(deps, BOB, sent.group.uuid)[-1]
    for text in ("m2", "m3"):
        clock.advance(seconds=1)
        conv.send_in_group(deps, ANN, sent.group.uuid, text)
    conn, ws = connect(BOB)
    from application.dm.topics import message_public

    frame = {
        "action": "subscribe", "id": "g", "topic": "dm.group",
        "message_group_uuid": sent.group.uuid, "since": message_public(since)["cursor"],
    }
    dispatch(dm_session(conn, hub, deps, clock), frame)
    wait_for(lambda: frames_of(ws, "subscribed"))
    [subscribed] = frames_of(ws, "subscribed")
    assert [e["message"] for e in subscribed["events"]] == ["m2", "m3"]
    clock.advance(seconds=1)
    conv.send_in_group(deps, ANN, sent.group.uuid, "m4")
    wait_for(lambda: frames_of(ws, "event"))
    [live_event] = frames_of(ws, "event")
    assert live_event["topic"] == "dm.group" and live_event["event"]["message"] == "m4"
    dispatch(dm_session(conn, hub, deps, clock), {"action": "unsubscribe", "id": "u", "topic": "dm.group",
                                                   "message_group_uuid": sent.group.uuid})
    wait_for(lambda: frames_of(ws, "unsubscribed"))
    assert frames_of(ws, "unsubscribed")[0]["found"] is True


def test_a_non_member_gets_not_found_for_a_group_that_exists_or_not(live):
    deps, hub, clock, forum = live
    sent = conv.send_to_handle(deps, ANN, "bob", "private")
    conn, ws = connect(CAT)
    for group_uuid in (sent.group.uuid, "00000000-0000-4000-8000-000000000000"):
        dispatch(
            dm_session(conn, hub, deps, clock),
            {"action": "subscribe", "id": group_uuid, "topic": "dm.group", "message_group_uuid": group_uuid},
        )
    wait_for(lambda: len(frames_of(ws, "error")) == 2)
    assert [(f["code"], f["message"]) for f in frames_of(ws, "error")] == [("not_found", "no such message group")] * 2
    conv.send_in_group(deps, BOB, sent.group.uuid, "still private")
    assert frames_of(ws, "event") == []


def test_a_resync_after_a_fan_out_blip_replays_the_missed_messages_as_dm_group_events(live):
    from application.dm.topics import group_topic
    from application.shared import Publication

    deps, hub, clock, forum = live
    sent = conv.send_to_handle(deps, ANN, "bob", "m1")
    conn, ws = connect(BOB)
    frame = {"action": "subscribe", "id": "g", "topic": "dm.group", "message_group_uuid": sent.group.uuid}
    dispatch(dm_session(conn, hub, deps, clock), frame)
    wait_for(lambda: frames_of(ws, "subscribed"))
    topic = group_topic(sent.group.uuid).name
    state = deps.uow()._state
    unheard = DmDeps(uow=lambda: MemoryDmUnitOfWork(state, InProcessNotifier()), clock=clock)
    clock.advance(seconds=1)
    conv.send_in_group(unheard, ANN, sent.group.uuid, "m2 (missed)")  # the fan-out lost it (a Redis blip)
    assert frames_of(ws, "event") == []
    hub.publish([Publication(topic, {"topic": "dm.group", "resync": True})])
    wait_for(lambda: frames_of(ws, "event"))
    [replayed] = frames_of(ws, "event")
    assert replayed["topic"] == "dm.group" and replayed["event"]["message"] == "m2 (missed)"
