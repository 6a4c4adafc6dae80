"""The Thread aggregate's status machine and body rules (DESIGN.md §2.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.forum import events as ev
from domain.forum.model import Thread, ThreadKey, ThreadStatus, ThreadUpdate
from domain.shared import Cursor, InvalidCursor, InvalidRequest, InvalidValue, KeysetCursor, parse_id

S = ThreadStatus
KEY = ThreadKey(10, 20)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def thread(status: ThreadStatus, helper: int | None = 5, count: int = 3) -> Thread:
    if status == S.NOT_STARTED:
        return Thread.not_started(KEY)
    return Thread(KEY, status, helper, count, NOW - timedelta(days=1))


OPEN = [S.WAITING_FOR_PARTICIPANT, S.WAITING_FOR_TRAINER]


@pytest.mark.parametrize("start", [S.NOT_STARTED, S.CLOSED])
@pytest.mark.parametrize("target", OPEN)
def test_opening_needs_a_helper_group(start, target):
    with pytest.raises(InvalidRequest) as err:
        thread(start).apply(ThreadUpdate(status=target), NOW)
    assert "helper_group_id" in err.value.details
    opened, change = thread(start).apply(ThreadUpdate(status=target, helper_group_id=9), NOW)
    assert (opened.status, opened.helper_group_id, change.opened) == (target, 9, True)


@pytest.mark.parametrize("start", OPEN)
def test_switching_between_waiting_statuses_keeps_the_helper_group(start):
    target = OPEN[1 - OPEN.index(start)]
    switched, change = thread(start).apply(ThreadUpdate(status=target), NOW)
    assert (switched.status, switched.helper_group_id) == (target, 5)
    assert change.changed and not change.opened and not change.closed


@pytest.mark.parametrize("start", [*OPEN, S.CLOSED])
def test_closing_must_not_carry_a_helper_group(start):
    with pytest.raises(InvalidRequest) as err:
        thread(start).apply(ThreadUpdate(status=S.CLOSED, helper_group_id=5), NOW)
    assert "helper_group_id" in err.value.details


@pytest.mark.parametrize("start", OPEN)
def test_closing_keeps_the_helper_group_and_reports_it(start):
    closed, change = thread(start).apply(ThreadUpdate(status=S.CLOSED), NOW)
    assert closed.status == S.CLOSED and closed.helper_group_id == 5 and change.closed


def test_not_started_cannot_be_set():
    with pytest.raises(InvalidRequest) as err:
        thread(S.WAITING_FOR_TRAINER).apply(ThreadUpdate(status=S.NOT_STARTED), NOW)
    assert "status" in err.value.details


def test_starting_a_thread_needs_a_status():
    with pytest.raises(InvalidRequest) as err:
        thread(S.NOT_STARTED).apply(ThreadUpdate(message_count=1), NOW)
    assert "status" in err.value.details


def test_empty_update_is_refused():
    with pytest.raises(InvalidRequest) as err:
        thread(S.WAITING_FOR_TRAINER).apply(ThreadUpdate(), NOW)
    assert "body" in err.value.details


def test_message_count_rules():
    t = thread(S.WAITING_FOR_TRAINER, count=3)
    with pytest.raises(InvalidRequest):
        t.apply(ThreadUpdate(message_count=-1), NOW)
    with pytest.raises(InvalidRequest):
        t.apply(ThreadUpdate(message_count=1, message_count_increment=1), NOW)
    assert t.apply(ThreadUpdate(message_count_increment=-10), NOW)[0].message_count == 0
    assert t.apply(ThreadUpdate(message_count_increment=2), NOW)[0].message_count == 5
    assert t.apply(ThreadUpdate(message_count=7), NOW)[0].message_count == 7


def test_update_sets_latest_update_at_and_keeps_helper_when_none_given():
    updated, _ = thread(S.WAITING_FOR_TRAINER).apply(ThreadUpdate(message_count_increment=1), NOW)
    assert updated.latest_update_at == NOW and updated.helper_group_id == 5


def test_reopening_may_change_the_helper_group():
    reopened, change = thread(S.CLOSED).apply(ThreadUpdate(status=S.WAITING_FOR_PARTICIPANT, helper_group_id=8), NOW)
    assert reopened.helper_group_id == 8 and change.opened


def test_status_events():
    assert [e.type for e in ev.status_events(KEY, 1, S.NOT_STARTED, S.WAITING_FOR_TRAINER, NOW)] == ["thread_opened"]
    assert [e.type for e in ev.status_events(KEY, 1, S.CLOSED, S.WAITING_FOR_TRAINER, NOW)] == ["thread_opened"]
    assert [e.type for e in ev.status_events(KEY, 1, S.WAITING_FOR_TRAINER, S.CLOSED, NOW)] == ["thread_closed"]
    switched = ev.status_events(KEY, 1, S.WAITING_FOR_TRAINER, S.WAITING_FOR_PARTICIPANT, NOW)
    assert [(e.type, e.data) for e in switched] == [
        ("status_changed", {"from": "waiting_for_trainer", "to": "waiting_for_participant"})
    ]
    assert ev.status_events(KEY, 1, S.CLOSED, S.CLOSED, NOW) == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t", " " * 10 + "\u3000"])
def test_blank_messages_are_refused(text):
    with pytest.raises(InvalidValue):
        ev.clean_message_text(text)


def test_message_length_is_counted_after_trimming():
    assert ev.clean_message_text("  hi  ") == "hi"
    assert len(ev.clean_message_text(" " + "a" * 4000 + " ")) == 4000
    with pytest.raises(InvalidValue) as err:
        ev.clean_message_text("a" * 4001)
    assert "text" in err.value.details


@pytest.mark.parametrize("bad", ["", " ", "x" * 65, "a\nb"])
def test_bad_uuids_are_refused(bad):
    with pytest.raises(InvalidValue):
        ev.clean_message_uuid(bad)


def test_missing_uuid_gets_one():
    assert len(ev.clean_message_uuid(None)) == 36


def test_cursor_round_trip_and_rejection():
    assert Cursor.decode(Cursor(42).encode()) == Cursor(42)
    for bad in ["", "abc", "!!!", Cursor(1).encode() + "x", KeysetCursor(("1", "2")).encode(), "é"]:
        with pytest.raises(InvalidCursor):
            Cursor.decode(bad)


def test_keyset_cursor_arity_is_checked():
    token = KeysetCursor(("a", "b", "c")).encode()
    assert KeysetCursor.decode(token, 3).values == ("a", "b", "c")
    with pytest.raises(InvalidCursor):
        KeysetCursor.decode(token, 2)
    with pytest.raises(InvalidCursor):
        KeysetCursor.decode(Cursor(3).encode(), 3)


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "abc", "", "9223372036854775808", True, 0, "٣"])
def test_bad_ids(raw):
    with pytest.raises(InvalidRequest):
        parse_id(raw)


def test_good_ids():
    assert parse_id("9223372036854775807") == 2**63 - 1
    assert parse_id(7) == 7


def test_restating_the_status_alone_changes_nothing():
    closed = thread(S.CLOSED)
    same, change = closed.apply(ThreadUpdate(status=S.CLOSED), NOW)
    assert same == closed and not change.changed
