"""A socket's bounds: outbox bytes, subscriptions per socket, subscribe rate, and the lease that
makes a dead process's stored subscriptions stop counting."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.memory.live import MemorySubscriptionStore
from application.forum.topics import thread_topic
from application.shared import Actor
from entrypoints.ws import protocol
from entrypoints.ws.connection import (
    CLOSE_TOO_SLOW,
    LEASE_RENEW_SECONDS,
    OUTBOX_BYTES,
    SUBSCRIPTION_LEASE_SECONDS,
    Connection,
)
from entrypoints.ws.protocol import Session, TokenBucket, dispatch
from tests.unit.forum.test_use_cases import ITEM, KEY, LEARNER, open_thread
from tests.unit.ws.test_subscriptions import FakeSocket, live, wait_for  # noqa: F401  (fixture)


def subscribe_frame(item: int = ITEM, frame_id: str = "s") -> dict:
    return {"action": "subscribe", "id": frame_id, "item_id": str(item), "participant_id": str(LEARNER)}


def test_the_outbox_is_bounded_in_bytes_and_a_slow_client_is_closed_with_4408():
    unblock = threading.Event()
    ws = FakeSocket(block=unblock)
    conn = Connection(ws)
    reply = '"' + "x" * (2 * 2**20) + '"'  # a 2 MB reply, as a full history page can be
    conn.enqueue(reply)  # taken by the writer, which is stuck sending it
    wait_for(lambda: conn.queued_bytes == 0)
    conn.enqueue(reply)
    assert not conn.closed and conn.queued_bytes == len(reply)
    conn.enqueue(reply)  # the third would pass 4 MiB
    assert conn.closed
    assert conn.queued_bytes == 0  # what was queued is dropped at once, not held for a stuck client
    unblock.set()
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == CLOSE_TOO_SLOW
    assert len(ws.sent) == 1 and 3 * len(reply) > OUTBOX_BYTES


def test_subscriptions_per_socket_are_capped(live, monkeypatch):  # noqa: F811
    deps, hub, _ = live
    open_thread(deps)
    monkeypatch.setattr(protocol, "MAX_SUBSCRIPTIONS", 1)
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    session = Session(conn, deps, hub)
    dispatch(session, subscribe_frame(ITEM, "a"))
    dispatch(session, subscribe_frame(ITEM + 1, "b"))
    dispatch(session, subscribe_frame(ITEM, "c"))  # the same thread again replaces, within the cap
    wait_for(lambda: len(ws.sent) == 3)
    by_id = {f["id"]: f for f in ws.sent}
    assert by_id["a"]["type"] == "subscribed" and by_id["c"]["type"] == "subscribed"
    assert by_id["b"]["type"] == "error" and by_id["b"]["code"] == "too_many_subscriptions"
    assert list(conn.subscriptions) == [thread_topic(KEY)] and hub.listener_count() == 1


def test_subscribe_frames_are_rate_limited_per_socket(live):  # noqa: F811
    deps, hub, _ = live
    open_thread(deps)
    now = [0.0]
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    session = Session(conn, deps, hub, subscribes=TokenBucket(20, 40, clock=lambda: now[0]))
    for n in range(45):
        dispatch(session, subscribe_frame(frame_id=f"s{n}"))
    now[0] = 0.5  # ten more tokens
    for n in range(45, 60):
        dispatch(session, subscribe_frame(frame_id=f"s{n}"))
    wait_for(lambda: len(ws.sent) == 60)
    refused = [f["id"] for f in ws.sent if f.get("code") == "rate_limited"]
    assert refused == [f"s{n}" for n in [*range(40, 45), *range(55, 60)]]
    assert len(conn.subscriptions) == 1


def test_stored_rows_carry_a_short_lease_that_the_live_process_renews(live):  # noqa: F811
    deps, hub, _ = live
    store = MemorySubscriptionStore()
    deps = replace(deps, subscriptions=store)
    clock = deps.clock
    open_thread(deps)
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(Session(conn, deps, hub), subscribe_frame())
    wait_for(lambda: len(ws.sent) == 1)
    topic = thread_topic(KEY)
    start = clock.now()
    assert [s.user_id for s in store.of_topic(topic, start)] == [LEARNER]
    # A process that stops renewing (killed): its row no longer counts once the lease has run out.
    assert store.of_topic(topic, start + timedelta(seconds=SUBSCRIPTION_LEASE_SECONDS + 1)) == []
    # The live process renews it: it counts again, for one more lease.
    clock.advance(seconds=LEASE_RENEW_SECONDS)
    conn.renew_leases()
    assert [s.user_id for s in store.of_topic(topic, start + timedelta(seconds=SUBSCRIPTION_LEASE_SECONDS + 1))] == [
        LEARNER
    ]
    assert store.of_topic(topic, clock.now() + timedelta(seconds=SUBSCRIPTION_LEASE_SECONDS + 1)) == []


def test_a_lease_never_outlasts_the_subscription_itself(live):  # noqa: F811
    deps, hub, _ = live
    store = MemorySubscriptionStore()
    deps = replace(deps, subscriptions=store)
    open_thread(deps)
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(Session(conn, deps, hub), subscribe_frame())
    wait_for(lambda: len(ws.sent) == 1)
    (sub,) = conn.subscriptions.values()
    sub.expires_at -= 2 * 3600 - 10  # ten seconds of the two hours left
    conn.renew_leases()
    (row,) = store.of_topic(thread_topic(KEY), deps.now())
    assert row.expires_at <= deps.now() + timedelta(seconds=10)


def test_removing_all_subscriptions_from_another_thread_leaves_no_row_and_no_listener(live):  # noqa: F811
    deps, hub, _ = live
    store = MemorySubscriptionStore()
    deps = replace(deps, subscriptions=store)
    open_thread(deps)
    stuck = threading.Event()
    ws = FakeSocket(block=stuck)
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(Session(conn, deps, hub), subscribe_frame())
    wait_for(lambda: conn.queued_bytes == 0)  # the writer took the reply and is stuck sending it
    conn.close(flush=False)
    conn.wait_flushed(timeout=0.2)
    assert conn.writer_alive  # stuck in a send that the client never takes
    conn.remove_all()  # what the endpoint does when its handler ends
    assert hub.listener_count() == 0 and store.of_topic(thread_topic(KEY), deps.now()) == []
    stuck.set()
    wait_for(lambda: not conn.writer_alive)
    assert hub.listener_count() == 0


def test_a_socket_that_keeps_flooding_subscribe_frames_is_closed_with_4429(live):  # noqa: F811
    deps, hub, _ = live
    open_thread(deps)
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    frozen = TokenBucket(20, 40, clock=lambda: 0.0)
    session = Session(conn, deps, hub, subscribes=frozen, refusals=TokenBucket(20, 40, clock=lambda: 0.0))
    for n in range(100):
        dispatch(session, subscribe_frame(frame_id=f"s{n}"))
    assert conn.closed
    wait_for(lambda: ws.closed_with is not None)
    assert ws.closed_with[0] == protocol.CLOSE_FLOODING
    codes = [f.get("code") for f in ws.sent]
    assert codes.count("rate_limited") == 41  # 40 refusals, then the one that closes
    assert hub.listener_count() == 0


@pytest.mark.parametrize("burst", [1, 40])
def test_a_token_bucket_refills_at_its_rate_up_to_its_burst(burst):
    now = [0.0]
    bucket = TokenBucket(20, burst, clock=lambda: now[0])
    assert sum(bucket.take() for _ in range(burst + 5)) == burst
    now[0] = 100.0
    assert sum(bucket.take() for _ in range(burst + 5)) == burst
