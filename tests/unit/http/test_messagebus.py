"""Side effects after the response: a post's follower notifications run on the message bus."""

from __future__ import annotations

import threading
import time

import pytest

from adapters.memory.permissions import MemoryPermissions
from container import Container
from domain.forum.events import MessagePosted
from entrypoints.http.app import create_app
from entrypoints.metrics import MESSAGEBUS_HANDLER_FAILURES
from tests.unit.forum.test_use_cases import HELPERS, ITEM, LEARNER, WATCHER

THREAD = f"/forum/items/{ITEM}/participant/{LEARNER}/thread"


def as_user(uid: int) -> dict[str, str]:
    return {"X-Parley-User": str(uid)}


@pytest.fixture
def background_app(clock, grant_tables):
    container = Container()
    container.core.clock.override(clock)
    container.forum.permissions.override(MemoryPermissions(grant_tables))
    app = create_app({"profile": "memory", "auth": "dev", "grants": "tables", "messagebus": "background"}, container)
    yield app
    container.unwire()


def _open_and_follow(client) -> None:
    opened = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                        headers=as_user(LEARNER))
    assert opened.status_code == 200
    assert client.put(f"{THREAD}/follow", headers=as_user(WATCHER)).status_code in (200, 201)


def test_the_post_answers_before_a_slow_handler_finishes_and_followers_are_still_notified(background_app):
    bus = background_app.container.message_bus()
    release, slow_started, slow_done = threading.Event(), threading.Event(), threading.Event()

    def slow_handler(event: MessagePosted) -> None:
        slow_started.set()
        release.wait(10)
        slow_done.set()

    # The slow handler runs first: the follower notification queued behind it waits for it too.
    bus.handlers = {MessagePosted: [slow_handler, *bus.handlers[MessagePosted]]}
    client = background_app.test_client()
    _open_and_follow(client)

    started = time.monotonic()
    posted = client.post(f"{THREAD}/messages", json={"text": "hello", "uuid": "u1"}, headers=as_user(LEARNER))
    answered_in = time.monotonic() - started
    assert posted.status_code == 201
    assert slow_started.wait(5) and not slow_done.is_set()  # the response came while the handler ran
    assert answered_in < 5
    assert client.get("/forum/notifications", headers=as_user(WATCHER)).get_json() == []

    release.set()
    assert bus.runner.drain(5)
    (note,) = client.get("/forum/notifications", headers=as_user(WATCHER)).get_json()
    assert (note["type"], note["event"]["uuid"]) == ("forum.message", "u1")
    assert list(note) == ["id", "type", "item_id", "participant_id", "event", "created_at", "read"]


def test_a_failing_handler_is_counted_and_the_post_still_succeeds(app):
    bus = app.container.message_bus()

    def broken(event: MessagePosted) -> None:
        raise RuntimeError("boom")

    broken.__qualname__ = "test.broken"
    bus.handlers = {MessagePosted: [broken, *bus.handlers[MessagePosted]]}
    before = MESSAGEBUS_HANDLER_FAILURES.labels(handler="test.broken")._value.get()
    client = app.test_client()
    _open_and_follow(client)
    posted = client.post(f"{THREAD}/messages", json={"text": "hello", "uuid": "u1"}, headers=as_user(LEARNER))
    assert posted.status_code == 201
    assert MESSAGEBUS_HANDLER_FAILURES.labels(handler="test.broken")._value.get() == before + 1
    # The other handlers still ran: the follower has the notification.
    assert len(client.get("/forum/notifications", headers=as_user(WATCHER)).get_json()) == 1


def test_an_unknown_messagebus_mode_refuses_to_start():
    from container import resolve_settings

    with pytest.raises(ValueError, match="PARLEY_MESSAGEBUS"):
        resolve_settings({"profile": "memory", "messagebus": "sometimes"})
