"""The `live.room` websocket topic: who hears what, joining late, resuming with `since`, and the
in-process deadline timer."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.delivery import MemorySubscriptionStore
from adapters.memory.live_questions import MemoryLiveState, MemoryLiveUnitOfWork, TimerScheduler
from adapters.memory.notify import InProcessNotifier
from application.live import attempts, questions, rooms
from application.live.deps import LiveDeps
from application.shared import Actor, SystemClock
from domain.live.questions import Option
from entrypoints.ws.connection import Connection
from entrypoints.ws.endpoint import _listen_to_own_topic
from entrypoints.ws.live import FAMILY, LiveRoomTopic
from entrypoints.ws.protocol import Session, dispatch
from entrypoints.ws.topics import TopicRegistry
from tests.unit.fakes import FakeClock
from tests.unit.ws.test_subscriptions import FakeSocket, wait_for

TEACHER, ANA, BEN = Actor(1), Actor(2), Actor(3)


@pytest.fixture
def world():
    hub = InProcessNotifier()
    state = MemoryLiveState()
    deps = LiveDeps(lambda: MemoryLiveUnitOfWork(state, hub), FakeClock())
    rooms.create_room(deps, TEACHER, "maths", "Maths")
    question = questions.create_question(
        deps, TEACHER, "2+2?", [Option("3", False, "count again"), Option("4", True, "right")]
    )
    return deps, hub, question


def join(world, actor, **frame):
    """A socket of `actor` in the room, listening to its own topic as every socket does."""
    deps, hub, _ = world
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = actor
    session = Session(
        conn, TopicRegistry({FAMILY: lambda: LiveRoomTopic(deps)}), hub, MemorySubscriptionStore(), deps.clock
    )
    if actor.user_id is not None:
        _listen_to_own_topic(conn, hub)
    dispatch(session, {"action": "subscribe", "id": "r", "topic": "live.room", "room_id": "maths", **frame})
    wait_for(lambda: ws.sent)
    return ws, session


def events(ws):
    return [f["event"] for f in ws.sent if f.get("type") == "event"]


def types(ws):
    return [e["type"] for e in events(ws)]


def test_everyone_hears_picks_and_closes_the_owner_hears_attempts_each_their_own_result(world):
    deps, _, question = world
    teacher, _ = join(world, TEACHER)
    ana, _ = join(world, ANA)
    ben, _ = join(world, BEN)
    assert teacher.sent[0] == {"type": "subscribed", "id": "r", "events": [], "cursor": None}

    rooms.pick_question(deps, TEACHER, "maths", question.id, None)
    attempts.submit_attempt(deps, ANA, "maths", 1)
    attempts.submit_attempt(deps, ANA, "maths", 0)
    attempts.submit_attempt(deps, BEN, "maths", 1)
    rooms.close_question(deps, TEACHER, "maths")
    wait_for(lambda: "question_closed" in types(ana) and "question_closed" in types(teacher))
    wait_for(lambda: "result" in types(ana) and "result" in types(ben))

    assert types(teacher) == [
        "question_picked", "attempt_submitted", "option_counts", "attempt_changed", "option_counts",
        "attempt_submitted", "option_counts", "question_closed",
    ]
    assert events(teacher)[-2]["counts"] == [1, 1]
    assert types(ana) == ["question_picked", "question_closed", "result"]
    picked = events(ana)[0]["question"]
    assert all(set(o) == {"index", "text"} for o in picked["options"])  # no answers while open
    assert events(ana)[1]["question"]["options"][1]["is_correct"] is True
    assert events(ana)[2]["correct"] is False and events(ana)[2]["missed"][0]["post_text"] == "right"
    assert [e for e in events(ben) if e["type"] == "result"][0]["correct"] is True
    assert all(e.get("user_id") in (None, str(BEN.user_id)) for e in events(ben))


def test_joining_late_gives_the_history_and_since_resumes_without_gaps(world):
    deps, _, question = world
    rooms.pick_question(deps, TEACHER, "maths", question.id, None)
    late, _ = join(world, ANA)
    assert [e["type"] for e in late.sent[0]["events"]] == ["question_picked"]
    cursor = late.sent[0]["cursor"]
    rooms.close_question(deps, TEACHER, "maths")
    rooms.close_room(deps, TEACHER, "maths")
    back, _ = join(world, ANA, since=cursor)
    assert [e["type"] for e in back.sent[0]["events"]] == ["question_closed", "room_closed"]


def test_refusals_come_as_error_frames(world):
    ws, _ = join(world, ANA, room_id="nowhere")
    assert ws.sent[0]["type"] == "error" and ws.sent[0]["code"] == "not_found"
    ws, _ = join(world, ANA, room_id="a.b")
    assert ws.sent[0]["code"] == "bad_request"
    ws, _ = join(world, Actor(None))
    assert ws.sent[0]["code"] == "forbidden"


def test_unsubscribing_and_closing_leave_no_listener(world):
    deps, hub, _ = world
    ws, session = join(world, ANA)
    before = hub.listener_count()
    dispatch(session, {"action": "unsubscribe", "id": "u", "topic": "live.room", "room_id": "maths"})
    wait_for(lambda: ws.sent[-1].get("type") == "unsubscribed")
    assert ws.sent[-1]["found"] is True and hub.listener_count() == before - 1
    other, other_session = join(world, BEN)
    count = hub.listener_count()
    other_session.conn.remove_all()
    assert hub.listener_count() == count - 1


def test_the_timer_closes_a_question_at_its_deadline_with_no_request():
    hub = InProcessNotifier()
    hub.keep_history = True
    state = MemoryLiveState()
    clock = SystemClock()
    deps = LiveDeps(lambda: MemoryLiveUnitOfWork(state, hub), clock, scheduler=TimerScheduler(clock))
    rooms.create_room(deps, TEACHER, "quiz", "Quiz")
    question = questions.create_question(deps, TEACHER, "Why?", [])
    rooms.pick_question(deps, TEACHER, "quiz", question.id, None)
    # A deadline a moment away (the API's minimum is 5 s): the room as the pick would leave it.
    with deps.uow() as uow:
        room = uow.live.get_room("quiz")
        uow.live.save_room(replace(room, deadline=clock.now() + timedelta(milliseconds=200)), room.seq, [])
        uow.commit()
    deps.scheduler.at(clock.now() + timedelta(milliseconds=200), lambda: rooms.close_when_due(deps, "quiz"))
    wait_for(lambda: any(p.payload.get("event", {}).get("type") == "question_closed" for p in hub.published))
    assert state.rooms["quiz"].state.value == "question_closed"


def test_the_timer_runs_its_job_once_after_the_delay():
    ran = threading.Event()
    start = time.monotonic()
    TimerScheduler(SystemClock()).at(datetime.now(UTC) + timedelta(milliseconds=100), ran.set)
    assert ran.wait(3) and time.monotonic() - start >= 0.1


def test_after_a_restart_overdue_questions_close_and_running_timers_are_set_again():
    hub = InProcessNotifier()
    hub.keep_history = True
    state = MemoryLiveState()
    clock = FakeClock()

    class Recorder:
        def __init__(self):
            self.jobs = []

        def at(self, when, job):
            self.jobs.append((when, job))

    scheduler = Recorder()
    deps = LiveDeps(lambda: MemoryLiveUnitOfWork(state, hub), clock, scheduler=scheduler)
    question = questions.create_question(deps, TEACHER, "Why?", [])
    other = questions.create_question(deps, TEACHER, "How?", [])
    for room_id, q, seconds in (("late", question, 10), ("running", other, 600)):
        rooms.create_room(deps, TEACHER, room_id, None)
        rooms.pick_question(deps, TEACHER, room_id, q.id, timedelta(seconds=seconds))
    scheduler.jobs.clear()  # the process that set those timers is gone
    clock.advance(seconds=60)
    assert rooms.resume_deadlines(deps) == 2
    assert state.rooms["late"].state.value == "question_closed"
    assert [when for when, _ in scheduler.jobs] == [state.rooms["running"].deadline]
    closes = [p for p in hub.published if p.payload.get("event", {}).get("type") == "question_closed"]
    assert [p.topic for p in closes] == ["live.room.late"]
