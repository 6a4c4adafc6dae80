from dataclasses import dataclass

import pytest

from application.delivery.topics import Topic, user_topic
from application.messagebus import BackgroundRunner, InlineRunner, MessageBus, merge_handlers
from domain.shared import InvalidRequest


@dataclass(frozen=True)
class Posted:
    text: str


@dataclass(frozen=True)
class Joined:
    who: str


def test_handlers_run_for_their_event_type_only():
    seen = []
    bus = MessageBus({Posted: [lambda e: seen.append(("a", e.text)), lambda e: seen.append(("b", e.text))]})
    bus.handle([Posted("hi"), Joined("x")])
    assert seen == [("a", "hi"), ("b", "hi")]


def test_a_failing_handler_is_reported_and_does_not_stop_the_others():
    seen, failures = [], []

    def broken(event):
        raise RuntimeError("boom")

    bus = MessageBus({Posted: [broken, lambda e: seen.append(e)]}, InlineRunner(), lambda n, e: failures.append(e))
    bus.handle([Posted("hi")])
    assert seen == [Posted("hi")]
    assert failures == [Posted("hi")]


def test_background_runner_runs_off_the_caller_and_drains():
    import threading

    callers = []
    runner = BackgroundRunner()
    bus = MessageBus({Posted: [lambda e: callers.append(threading.current_thread().name)]}, runner)
    bus.handle([Posted(str(i)) for i in range(50)])
    assert runner.drain(5)
    assert len(callers) == 50
    assert threading.current_thread().name not in callers


def test_merge_handlers_keeps_every_context_table():
    def a(e):
        return None

    def b(e):
        return None

    assert merge_handlers({Posted: [a]}, {Posted: [b], Joined: [a]}) == {Posted: [a, b], Joined: [a]}


def test_topic_names_round_trip_and_reject_dots_in_parts():
    topic = Topic("forum", "thread", ("1", "100"))
    assert topic.name == "forum.thread.1.100"
    assert topic.family == "forum.thread"
    assert Topic.parse(topic.name) == topic
    assert user_topic(7).name == "user.inbox.7"
    with pytest.raises(InvalidRequest):
        Topic("chat", "room", ("a.b",))
    with pytest.raises(InvalidRequest):
        Topic.parse("nodots")
