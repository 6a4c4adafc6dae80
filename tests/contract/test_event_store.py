"""Contract of the EventStore port: every adapter must pass this (DESIGN.md §3, issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.forum.ports import MessageUuidTaken
from domain.forum import events as ev
from domain.forum.events import EventType
from domain.forum.model import ThreadKey

KEY = ThreadKey(item_id=100, participant_id=7)
OTHER = ThreadKey(item_id=100, participant_id=8)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def append_messages(uow_factory, key, n, start=0):
    stored = []
    with uow_factory() as uow:
        for i in range(start, start + n):
            stored.append(uow.events.append(ev.message_posted(key, 7, f"m{i}", f"u{i}", T0)))
        uow.commit()
    return stored


def seqs(events):
    return [e.seq for e in events]


def test_sequences_strictly_increase_per_thread(uow_factory):
    a = append_messages(uow_factory, KEY, 3)
    b = append_messages(uow_factory, OTHER, 2)
    assert seqs(a) == sorted(set(seqs(a))) and len(a) == 3 and a[0].seq >= 1
    assert seqs(b) == sorted(set(seqs(b))) and len(b) == 2


def test_events_in_the_same_millisecond_are_all_kept(uow_factory):
    append_messages(uow_factory, KEY, 5)
    with uow_factory() as uow:
        got = uow.events.after(KEY, 0, 100)
    assert [e.data["text"] for e in got] == [f"m{i}" for i in range(5)]
    assert all(e.time == T0 for e in got)


def test_after_pages_cover_everything_exactly_once(uow_factory):
    stored = append_messages(uow_factory, KEY, 25)
    seen, cursor = [], 0
    with uow_factory() as uow:
        while True:
            page = uow.events.after(KEY, cursor, 10)
            if not page:
                break
            seen += seqs(page)
            cursor = page[-1].seq
    assert seen == seqs(stored)


@pytest.mark.parametrize("resume_index", [None, 0, 8, 9, 23, 24])
def test_resume_from_any_cursor_returns_exactly_the_later_events(uow_factory, resume_index):
    stored = append_messages(uow_factory, KEY, 25)
    cursor = 0 if resume_index is None else stored[resume_index].seq
    later = stored if resume_index is None else stored[resume_index + 1 :]
    with uow_factory() as uow:
        got = uow.events.after(KEY, cursor, 100)
    assert seqs(got) == seqs(later)


def test_before_is_newest_first_and_filters_types(uow_factory):
    m = append_messages(uow_factory, KEY, 3)
    with uow_factory() as uow:
        attempt = uow.events.append(ev.attempt_started(KEY, 55, T0))
        uow.commit()
    with uow_factory() as uow:
        newest = uow.events.before(KEY, None, 2)
        messages = uow.events.before(KEY, None, 10, frozenset({EventType.MESSAGE}))
        older = uow.events.before(KEY, m[2].seq, 10, frozenset({EventType.MESSAGE}))
    assert seqs(newest) == [attempt.seq, m[2].seq]
    assert seqs(messages) == seqs(reversed(m))
    assert seqs(older) == [m[1].seq, m[0].seq]


def test_empty_thread_reads_empty(uow_factory):
    with uow_factory() as uow:
        assert uow.events.after(KEY, 0, 10) == []
        assert uow.events.before(KEY, None, 10) == []
        assert uow.events.find_message(KEY, "nope") is None


def test_a_message_uuid_is_stored_once_per_thread(uow_factory):
    append_messages(uow_factory, KEY, 1)
    with uow_factory() as uow, pytest.raises(MessageUuidTaken):
        uow.events.append(ev.message_posted(KEY, 7, "again", "u0", T0))
    with uow_factory() as uow:
        assert len(uow.events.after(KEY, 0, 10)) == 1
        assert uow.events.find_message(KEY, "u0").data["text"] == "m0"
    # the same uuid in another thread is a different message
    assert append_messages(uow_factory, OTHER, 1)[0].data["uuid"] == "u0"


def test_replace_message_keeps_position(uow_factory):
    first = append_messages(uow_factory, KEY, 2)[0]
    with uow_factory() as uow:
        uow.events.replace_message(first.with_data(text="edited", edited_at="x"))
        uow.commit()
    with uow_factory() as uow:
        got = uow.events.find_message(KEY, "u0")
        assert (got.seq, got.data["text"], got.data["edited_at"]) == (first.seq, "edited", "x")
        assert len(uow.events.after(KEY, 0, 10)) == 2


def test_rollback_stores_nothing(uow_factory):
    with uow_factory() as uow:
        uow.events.append(ev.message_posted(KEY, 7, "lost", "lost", T0))
        uow.rollback()
    with uow_factory() as uow:
        uow.events.append(ev.message_posted(KEY, 7, "lost2", "lost2", T0))
        # leaving without commit rolls back too
    with uow_factory() as uow:
        assert uow.events.after(KEY, 0, 10) == []
        assert uow.events.find_message(KEY, "lost") is None
    assert append_messages(uow_factory, KEY, 1)[0].data["text"] == "m0"
