"""The live-questions store: one suite on memory, SQLite, PostgreSQL and DynamoDB Local, driven
through the use cases (so the adapters are held to what the context needs of them)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.live_questions import MemoryLiveState, MemoryLiveUnitOfWork
from application.delivery.topics import user_topic
from application.live import attempts, questions, rooms
from application.live.deps import LiveDeps
from application.live.ports import ConcurrentChange, Pick, RoomIdTaken
from application.shared import Actor
from domain.live.questions import Answer, Attempt, Option
from domain.live.rooms import RoomState, new_room
from domain.shared import Conflict, Cursor, Forbidden, InvalidValue, NotFound
from tests.unit.fakes import FakeClock

TEACHER, ANA, BEN = Actor(1), Actor(2), Actor(3)


def live_uow_factory(request, backend, notifier):
    if backend == "memory":
        state = MemoryLiveState()
        return lambda read_only=False: MemoryLiveUnitOfWork(state, notifier)
    if backend in ("sqlite", "postgres"):
        from adapters.sql.live_questions import SqlLiveUnitOfWork
        from tests.support.sql import fresh_database

        engine = fresh_database(request, backend).engine
        return lambda read_only=False: SqlLiveUnitOfWork(engine, notifier, read_only)
    from adapters.dynamodb.live_questions import DynamoDbLive, DynamoDbLiveUnitOfWork
    from tests.support.dynamodb import fresh_forum

    forum = fresh_forum(request)  # every table, under a prefix of its own
    table = DynamoDbLive(forum.client, forum.table.removesuffix("forum") + DynamoDbLive.NAME)
    return lambda read_only=False: DynamoDbLiveUnitOfWork(table, notifier)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def deps(request, backend, notifier, clock):
    make = live_uow_factory(request, backend, notifier)
    ids = iter(f"{n:032x}" for n in range(1, 10_000))
    return LiveDeps(uow=make, clock=clock, read_uow=lambda: make(True), new_id=lambda: next(ids))


def published(notifier, kind=None):
    """The live-questions frames, each with the topic it went to (the room's, or a user's own)."""
    frames = [{**p.payload, "to": p.topic} for p in notifier.published if p.payload.get("topic") == "live.room"]
    return [f for f in frames if kind is None or f["event"]["type"] == kind]


def choice_question(deps):
    options = [Option("3", False, "count again"), Option("4", True, "right"), Option("5", False, "too many")]
    return questions.create_question(deps, TEACHER, "2+2?", options)


def test_rooms_are_created_once_and_listed_by_id(deps):
    rooms.create_room(deps, TEACHER, "maths", "Maths")
    rooms.create_room(deps, ANA, "art", None)
    with pytest.raises(RoomIdTaken):
        rooms.create_room(deps, BEN, "maths", "Mine now")
    listed = rooms.list_rooms(deps, BEN, None, 10)
    assert [(r.id, r.name, r.owner_id) for r in listed] == [("art", "art", 2), ("maths", "Maths", 1)]
    assert [r.id for r in rooms.list_rooms(deps, BEN, "art", 10)] == ["maths"]
    assert [r.id for r in rooms.list_rooms(deps, BEN, None, 1)] == ["art"]


def test_questions_are_their_owners_and_keep_their_options(deps, clock):
    first = choice_question(deps)
    clock.advance(seconds=1)
    second = questions.create_question(deps, TEACHER, "Why?", [])
    questions.create_question(deps, ANA, "Hers", [])
    mine = questions.list_questions(deps, TEACHER, None, 10)
    assert [q.id for q in mine] == [first.id, second.id]
    assert mine[0].options == first.options and mine[0].created_at == first.created_at
    assert [q.id for q in questions.list_questions(deps, TEACHER, (first.created_at, first.id), 10)] == [second.id]
    with pytest.raises(NotFound):
        questions.get_own_question(deps, ANA, first.id)


def test_a_question_goes_from_pick_to_results(deps, notifier, clock):
    rooms.create_room(deps, TEACHER, "maths", "Maths")
    question = choice_question(deps)
    picked = rooms.pick_question(deps, TEACHER, "maths", question.id, None)
    assert picked.state is RoomState.QUESTION_OPENED and picked.seq == 1

    assert not attempts.submit_attempt(deps, ANA, "maths", 0).changed
    clock.advance(seconds=1)
    again = attempts.submit_attempt(deps, ANA, "maths", 1)
    assert again.changed and again.attempt.answer == Answer(choices=frozenset({1}))
    attempts.submit_attempt(deps, BEN, "maths", 2)
    with pytest.raises(InvalidValue):
        attempts.submit_attempt(deps, BEN, "maths", [])
    _, stored = attempts.current_attempts(deps, TEACHER, "maths")
    assert [(a.user_id, sorted(a.answer.choices)) for a in stored] == [(2, [1]), (3, [2])]
    assert attempts.current_counts(deps, TEACHER, "maths")["counts"] == [0, 1, 1]

    rooms.close_question(deps, TEACHER, "maths")
    with pytest.raises(Conflict):
        attempts.submit_attempt(deps, ANA, "maths", 2)
    state = rooms.room_state(deps, ANA, "maths")
    assert state["my_result"]["correct"] is True and state["question"]["options"][1]["is_correct"] is True
    results = [p for p in published(notifier, "result")]
    assert sorted((p["to"], p["event"]["correct"]) for p in results) == [
        (user_topic(2).name, True), (user_topic(3).name, False),
    ]
    assert [p["event"]["type"] for p in published(notifier) if p["to"] == "live.room.maths"] == [
        "question_picked", "question_closed",
    ]
    events = [e for page in rooms.events_after(deps, "maths", 0) for e in page]
    assert [(e["type"], e["cursor"]) for e in events] == [
        ("question_picked", Cursor(1).encode()), ("question_closed", Cursor(2).encode()),
    ]
    assert [e["type"] for page in rooms.events_after(deps, "maths", 1) for e in page] == ["question_closed"]


def test_the_open_question_hides_its_answers_from_participants(deps):
    rooms.create_room(deps, TEACHER, "maths", "Maths")
    question = choice_question(deps)
    rooms.pick_question(deps, TEACHER, "maths", question.id, None)
    shown = rooms.room_state(deps, ANA, "maths")["question"]
    assert shown["options"] == [{"index": 0, "text": "3"}, {"index": 1, "text": "4"}, {"index": 2, "text": "5"}]
    assert rooms.room_state(deps, TEACHER, "maths")["question"]["options"][1]["post_text"] == "right"


def test_guards_hold_in_the_store(deps):
    rooms.create_room(deps, TEACHER, "maths", "Maths")
    question = choice_question(deps)
    with pytest.raises(Forbidden):
        rooms.pick_question(deps, ANA, "maths", question.id, None)
    hers = questions.create_question(deps, ANA, "Hers", [])
    with pytest.raises(NotFound):
        rooms.pick_question(deps, TEACHER, "maths", hers.id, None)
    rooms.pick_question(deps, TEACHER, "maths", question.id, None)
    rooms.close_question(deps, TEACHER, "maths")
    with pytest.raises(Conflict):
        rooms.pick_question(deps, TEACHER, "maths", question.id, None)  # asked once per room
    rooms.close_room(deps, TEACHER, "maths")
    other = questions.create_question(deps, TEACHER, "Why?", [])
    with pytest.raises(Conflict):
        rooms.pick_question(deps, TEACHER, "maths", other.id, None)
    assert rooms.current_room(deps, "maths").state is RoomState.ROOM_CLOSED
    with pytest.raises(NotFound):
        rooms.close_room(deps, TEACHER, "nowhere")


def test_a_deadline_closes_the_question_on_the_next_read(deps, notifier, clock):
    rooms.create_room(deps, TEACHER, "quiz", "Quiz")
    question = questions.create_question(deps, TEACHER, "Why?", [])
    rooms.pick_question(deps, TEACHER, "quiz", question.id, timedelta(seconds=30))
    attempts.submit_attempt(deps, ANA, "quiz", "because")
    clock.advance(seconds=31)
    with pytest.raises(Conflict):
        attempts.submit_attempt(deps, BEN, "quiz", "late")
    room = rooms.current_room(deps, "quiz")
    assert room.state is RoomState.QUESTION_CLOSED and room.seq == 2
    state = rooms.room_state(deps, ANA, "quiz")
    assert state["my_result"] == {
        "question_id": question.id, "answer": "because", "correct": None,
        "marked_correctly": [], "missed": [], "marked_wrongly": [],
    }
    assert len(published(notifier, "question_closed")) == 1  # written down, and pushed, once
    csv_text = attempts.export_csv(deps, TEACHER, "quiz")
    assert csv_text.splitlines()[1].split(",")[4:6] == ["2", "because"]


def test_a_stale_room_is_refused_by_the_store(deps, clock):
    room = new_room("r", "R", 1, clock.now())
    with deps.uow() as uow:
        uow.live.add_room(room)
        uow.commit()
    picked, event = room.pick(1, "q", clock.now(), False)
    with deps.uow() as uow:
        uow.live.save_room(picked, 0, [event])
        uow.live.add_pick(Pick("r", "q", clock.now()))
        uow.commit()
    # Refused at the call (memory, SQL) or at the commit (DynamoDB's conditions): never stored.
    with pytest.raises(ConcurrentChange), deps.uow() as uow:
        uow.live.save_room(picked, 0, [event])
        uow.commit()
    with pytest.raises(ConcurrentChange), deps.uow() as uow:
        uow.live.put_attempt(Attempt("r", "q", 2, Answer(text="x"), clock.now()), room)
        uow.commit()
    with deps.reader() as uow:
        assert uow.live.get_room("r").seq == 1 and [p.question_id for p in uow.live.picks("r")] == ["q"]
        assert uow.live.attempts("r", "q") == []
