"""Followers who are not watching live get a stored notification and a push on their own topic."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import user_topic
from application.forum import follows, messages, notifications
from application.forum.topics import thread_topic
from application.shared import Actor
from domain.shared import InvalidRequest, NotFound
from tests.unit.fakes import make_forum, with_notifications
from tests.unit.forum.test_use_cases import HELPER_TRAINER, HELPER_VALIDATED, KEY, LEARNER, WATCHER, open_thread, tables


@pytest.fixture
def forum():
    deps, state, notifier, grants, clock = make_forum(tables())
    deps, _ = with_notifications(deps, state, notifier)
    return deps, notifier, clock


def test_followers_not_watching_are_notified_and_the_author_is_not(forum):
    deps, notifier, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, Actor(WATCHER), KEY)
    follows.follow_thread(deps, Actor(HELPER_TRAINER), KEY)
    deps.subscriptions.put(TopicSubscription(thread_topic(KEY), "c1", HELPER_TRAINER, clock.now() + timedelta(hours=2)))
    posted = messages.post_message(deps, Actor(LEARNER), KEY, "help?", "u1").message

    mine = notifications.list_notifications(deps.notifications, Actor(WATCHER), None, 10)
    assert [n.payload["event"]["uuid"] for n in mine] == ["u1"] and mine[0].payload["event"] == posted.to_public()
    assert notifications.list_notifications(deps.notifications, Actor(HELPER_TRAINER), None, 10) == []
    assert notifications.list_notifications(deps.notifications, Actor(LEARNER), None, 10) == []
    pushed = [p for p in notifier.published if p.topic == user_topic(WATCHER).name]
    assert len(pushed) == 1 and pushed[0].payload["topic"] == "notification.new"


def test_an_expired_live_subscription_does_not_count_as_watching(forum):
    deps, notifier, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, Actor(WATCHER), KEY)
    deps.subscriptions.put(TopicSubscription(thread_topic(KEY), "c1", WATCHER, clock.now() - timedelta(seconds=1)))
    messages.post_message(deps, Actor(LEARNER), KEY, "help?", "u1")
    assert len(notifications.list_notifications(deps.notifications, Actor(WATCHER), None, 10)) == 1


def test_paging_read_and_delete(forum):
    deps, notifier, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, Actor(WATCHER), KEY)
    for i in range(5):
        messages.post_message(deps, Actor(LEARNER), KEY, f"m{i}", f"u{i}")
        clock.advance(seconds=1)
    store, me = deps.notifications, Actor(WATCHER)
    first = notifications.list_notifications(store, me, None, 3)
    assert [n.payload["event"]["uuid"] for n in first] == ["u4", "u3", "u2"]
    rest = notifications.list_notifications(store, me, first[-1].id, 3)
    assert [n.payload["event"]["uuid"] for n in rest] == ["u1", "u0"]
    notifications.mark_notification_read(store, me, first[0].id)
    assert notifications.list_notifications(store, me, None, 1)[0].read is True
    notifications.delete_notification(store, me, first[0].id)
    assert len(notifications.list_notifications(store, me, None, 10)) == 4
    with pytest.raises(NotFound):
        notifications.delete_notification(store, me, first[0].id)
    with pytest.raises(NotFound):  # someone else's notification is not found, not forbidden
        notifications.delete_notification(store, Actor(LEARNER), first[1].id)
    with pytest.raises(InvalidRequest):
        notifications.list_notifications(store, me, "../etc", 3)


def test_a_follower_who_can_no_longer_read_the_thread_gets_no_notification(forum):
    from application.forum import threads
    from domain.forum.model import ThreadStatus, ThreadUpdate
    from tests.unit.forum.test_use_cases import HELPERS

    deps, notifier, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, Actor(HELPER_VALIDATED), KEY)
    # the participant asks another group for help: the validated helper of group 5 loses read access
    deps.permissions.tables.grant(100, 10, can_request_help_to=(HELPERS, 6))
    threads.update_thread(
        deps, Actor(LEARNER), KEY, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=6)
    )
    messages.post_message(deps, Actor(LEARNER), KEY, "secret", "u-secret")
    assert notifications.list_notifications(deps.notifications, Actor(HELPER_VALIDATED), None, 10) == []
    assert not [p for p in notifier.published if p.topic == user_topic(HELPER_VALIDATED).name]


def test_every_follower_still_gets_the_notification_through_the_message_bus(forum):
    deps, notifier, clock = forum
    open_thread(deps)
    followers = [WATCHER, HELPER_TRAINER, HELPER_VALIDATED]
    for uid in followers:
        follows.follow_thread(deps, Actor(uid), KEY)
    messages.post_message(deps, Actor(LEARNER), KEY, "to everyone", "u-all")
    for uid in followers:
        (note,) = notifications.list_notifications(deps.notifications, Actor(uid), None, 10)
        assert note.payload["event"]["uuid"] == "u-all"
        assert [p.topic for p in notifier.published if p.topic == user_topic(uid).name] == [user_topic(uid).name]


def test_a_retried_post_records_no_second_event_and_notifies_nobody_again(forum):
    deps, notifier, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, Actor(WATCHER), KEY)
    messages.post_message(deps, Actor(LEARNER), KEY, "once", "u-once")
    assert messages.post_message(deps, Actor(LEARNER), KEY, "once", "u-once").created is False
    assert len(notifications.list_notifications(deps.notifications, Actor(WATCHER), None, 10)) == 1


def test_a_refused_post_runs_no_handler(forum):
    from domain.shared import Conflict

    deps, notifier, clock = forum
    follows.follow_thread(deps, Actor(WATCHER), KEY)
    with pytest.raises(Conflict):  # the thread is not open: the unit of work rolls back
        messages.post_message(deps, Actor(LEARNER), KEY, "nobody hears", "u-no")
    assert notifications.list_notifications(deps.notifications, Actor(WATCHER), None, 10) == []
