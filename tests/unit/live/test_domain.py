"""The live-questions domain: every room state × owner action × role, question types, answers, results."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.live.questions import (
    Answer,
    Attempt,
    Option,
    QuestionType,
    new_question,
    option_counts,
    parse_answer,
    result_of,
)
from domain.live.rooms import Room, RoomEventType, RoomState, new_room, parse_room_id, parse_time_limit
from domain.shared import Conflict, Forbidden, InvalidRequest, InvalidValue

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OWNER, STUDENT = 1, 2


def room_in(state: RoomState, deadline: datetime | None = None) -> Room:
    room = new_room("maths", "Maths", OWNER, NOW)
    question = None if state is RoomState.NO_QUESTION else "q1"
    return replace(room, state=state, question_id=question, deadline=deadline, seq=3)


def single():
    return new_question("q1", OWNER, "2+2?", [Option("3", False, "no"), Option("4", True, "yes"), Option("5")], NOW)


def multiple():
    options = [Option("2", True, "prime"), Option("4", False, "even"), Option("5", True, "prime too")]
    return new_question("q2", OWNER, "Primes?", options, NOW)


def discursive():
    return new_question("q3", OWNER, "Why?", [], NOW)


# -- the state machine: state × action × role ---------------------------------------------------

ALL_STATES = list(RoomState)
# What the owner's actions do in each state: the state after, or the error.
PICK = {
    RoomState.NO_QUESTION: RoomState.QUESTION_OPENED,
    RoomState.QUESTION_OPENED: Conflict,
    RoomState.QUESTION_CLOSED: RoomState.QUESTION_OPENED,
    RoomState.ROOM_CLOSED: Conflict,
}
CLOSE_QUESTION = {
    RoomState.NO_QUESTION: Conflict,
    RoomState.QUESTION_OPENED: RoomState.QUESTION_CLOSED,
    RoomState.QUESTION_CLOSED: Conflict,
    RoomState.ROOM_CLOSED: Conflict,
}
CLOSE_ROOM = {
    RoomState.NO_QUESTION: RoomState.ROOM_CLOSED,
    RoomState.QUESTION_OPENED: RoomState.ROOM_CLOSED,
    RoomState.QUESTION_CLOSED: RoomState.ROOM_CLOSED,
    RoomState.ROOM_CLOSED: Conflict,
}
ATTEMPT = {
    RoomState.NO_QUESTION: Conflict,
    RoomState.QUESTION_OPENED: "q1",
    RoomState.QUESTION_CLOSED: Conflict,
    RoomState.ROOM_CLOSED: Conflict,
}

ACTIONS = {
    "pick": (PICK, lambda room, user: room.pick(user, "q9", NOW, asked_before=False)[0].state),
    "close_question": (CLOSE_QUESTION, lambda room, user: room.close_question(user, NOW)[0].state),
    "close_room": (CLOSE_ROOM, lambda room, user: room.close_room(user, NOW)[0].state),
}


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("user", [OWNER, STUDENT, None], ids=["owner", "participant", "no-user"])
def test_owner_actions_in_every_state_for_every_role(state, action, user):
    table, run = ACTIONS[action]
    room = room_in(state)
    if user != OWNER:
        with pytest.raises(Forbidden):
            run(room, user)
        return
    expected = table[state]
    if isinstance(expected, type):
        with pytest.raises(expected):
            run(room, user)
    else:
        assert run(room, user) is expected


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("user", [OWNER, STUDENT, None], ids=["owner", "participant", "no-user"])
def test_attempts_in_every_state_for_every_role(state, user):
    room = room_in(state)
    if user != STUDENT:
        with pytest.raises(Forbidden):
            room.check_attempt(user, None, NOW)
        return
    expected = ATTEMPT[state]
    if isinstance(expected, type):
        with pytest.raises(expected):
            room.check_attempt(user, None, NOW)
    else:
        assert room.check_attempt(user, None, NOW) == expected


def test_an_attempt_naming_another_question_is_refused():
    with pytest.raises(Conflict):
        room_in(RoomState.QUESTION_OPENED).check_attempt(STUDENT, "q0", NOW)


def test_each_action_records_one_event_with_the_next_sequence_number():
    room = room_in(RoomState.NO_QUESTION)
    picked, event = room.pick(OWNER, "q1", NOW, asked_before=False)
    assert (event.type, event.seq, picked.seq, picked.question_id) == (RoomEventType.QUESTION_PICKED, 4, 4, "q1")
    closed, event = picked.close_question(OWNER, NOW)
    assert (event.type, event.seq, closed.state) == (RoomEventType.QUESTION_CLOSED, 5, RoomState.QUESTION_CLOSED)


def test_closing_a_room_with_an_open_question_closes_the_question_first():
    room, events = room_in(RoomState.QUESTION_OPENED).close_room(OWNER, NOW)
    assert [e.type for e in events] == [RoomEventType.QUESTION_CLOSED, RoomEventType.ROOM_CLOSED]
    assert [e.seq for e in events] == [4, 5] and room.seq == 5


def test_a_question_is_asked_once_per_room():
    with pytest.raises(Conflict):
        room_in(RoomState.QUESTION_CLOSED).pick(OWNER, "q1", NOW, asked_before=True)


def test_a_question_past_its_deadline_is_closed_without_anything_written():
    deadline = NOW + timedelta(seconds=30)
    room, _ = room_in(RoomState.NO_QUESTION).pick(OWNER, "q1", NOW, False, timedelta(seconds=30))
    assert room.deadline == deadline and room.state_at(NOW) is RoomState.QUESTION_OPENED
    later = deadline + timedelta(milliseconds=1)
    assert room.state_at(later) is RoomState.QUESTION_CLOSED and room.overdue(later)
    with pytest.raises(Conflict):
        room.check_attempt(STUDENT, None, later)
    closed, event = room.close_when_due(later)
    assert closed.state is RoomState.QUESTION_CLOSED and event.at == deadline
    assert closed.close_when_due(later) is None  # once
    assert room.close_when_due(NOW) is None  # not before its time


def test_time_limits_and_room_ids_are_checked():
    assert parse_time_limit(None) is None and parse_time_limit(60) == timedelta(seconds=60)
    for bad in (0, 4, 10**6, True, "60", 1.5):
        with pytest.raises(InvalidValue):
            parse_time_limit(bad)
    assert parse_room_id("room-1_A") == "room-1_A"
    for bad in ("", "a.b", "a#b", "x" * 65, 5, None):
        with pytest.raises(InvalidRequest):
            parse_room_id(bad)
    with pytest.raises(InvalidValue):
        new_room("r", "  ", OWNER, NOW)
    with pytest.raises(Forbidden):
        new_room("r", "R", None, NOW)


# -- questions -------------------------------------------------------------------------------------


def test_the_type_follows_from_the_options():
    assert discursive().type is QuestionType.DISCURSIVE
    assert single().type is QuestionType.SINGLE_ANSWER
    assert multiple().type is QuestionType.MULTIPLE_ANSWER


def test_options_without_a_correct_one_are_refused():
    with pytest.raises(InvalidValue) as err:
        new_question("q", OWNER, "Pick", [Option("a"), Option("b")], NOW)
    assert "options" in err.value.details


@pytest.mark.parametrize(
    "text, options",
    [("", []), ("   ", []), ("x" * 2001, []), ("ok", [Option("", True)]), ("ok", [Option("a", True)] * 21)],
)
def test_question_values_are_checked(text, options):
    with pytest.raises(InvalidValue):
        new_question("q", OWNER, text, options, NOW)


# -- answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, raw, expected",
    [
        (single, 1, Answer(choices=frozenset({1}))),
        (single, [2], Answer(choices=frozenset({2}))),
        (multiple, [0, 2], Answer(choices=frozenset({0, 2}))),
        (multiple, [1], Answer(choices=frozenset({1}))),
        (discursive, "because", Answer(text="because")),
    ],
)
def test_answers_match_the_question_type(make, raw, expected):
    assert parse_answer(make(), raw) == expected


@pytest.mark.parametrize(
    "make, raw",
    [
        (single, None), (single, "1"), (single, True), (single, 3), (single, -1), (single, [0, 1]), (single, []),
        (multiple, []), (multiple, 1), (multiple, [0, 0]), (multiple, [5]), (multiple, ["0"]), (multiple, [True]),
        (discursive, ""), (discursive, "   "), (discursive, 1), (discursive, ["a"]), (discursive, "x" * 2001),
    ],
)
def test_empty_or_mistyped_answers_are_refused(make, raw):
    with pytest.raises(InvalidValue) as err:
        parse_answer(make(), raw)
    assert "answer" in err.value.details


# -- results ---------------------------------------------------------------------------------------


def attempt(question, answer):
    return Attempt("maths", question.id, STUDENT, answer, NOW)


def test_a_result_lists_the_correct_marks_the_misses_and_the_wrong_marks_with_feedback():
    question = multiple()
    result = result_of(question, attempt(question, Answer(choices=frozenset({0, 1}))))
    assert result.correct is False
    assert [(f.index, f.post_text) for f in result.marked_correctly] == [(0, "prime")]
    assert [(f.index, f.post_text) for f in result.missed] == [(2, "prime too")]
    assert [(f.index, f.post_text) for f in result.marked_wrongly] == [(1, "even")]
    right = result_of(question, attempt(question, Answer(choices=frozenset({0, 2}))))
    assert right.correct is True and not right.missed and not right.marked_wrongly


def test_a_free_text_result_has_no_marks_and_does_not_fail():
    question = discursive()
    result = result_of(question, attempt(question, Answer(text="because")))
    assert result.correct is None and result.answer.text == "because"
    assert (result.marked_correctly, result.missed, result.marked_wrongly) == ((), (), ())


def test_option_counts():
    question = multiple()
    answers = [frozenset({0}), frozenset({0, 2}), frozenset({1})]
    attempts = [replace(attempt(question, Answer(choices=a)), user_id=i) for i, a in enumerate(answers)]
    assert option_counts(question, attempts) == [2, 1, 1]
    assert option_counts(discursive(), []) == []
