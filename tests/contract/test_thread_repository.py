"""Contract of the ThreadRepository, FollowStore and ReadMarkerStore ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.forum.ports import Follow, ReadableThreads, ReadMarker, ThreadListQuery
from domain.forum.model import Thread, ThreadKey, ThreadStatus

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def thread(item, participant, minutes, status=ThreadStatus.WAITING_FOR_TRAINER, helper=5):
    return Thread(ThreadKey(item, participant), status, helper, 0, T0 + timedelta(minutes=minutes))


def save(uow_factory, *threads):
    with uow_factory() as uow:
        for t in threads:
            uow.threads.save(t)
        uow.commit()


def test_get_returns_what_was_saved_and_none_for_not_started(uow_factory):
    t = thread(1, 2, 0)
    save(uow_factory, t)
    with uow_factory() as uow:
        assert uow.threads.get(t.key) == t
        assert uow.threads.get(ThreadKey(1, 3)) is None


def test_save_overwrites(uow_factory):
    save(uow_factory, thread(1, 2, 0))
    closed = Thread(ThreadKey(1, 2), ThreadStatus.CLOSED, 5, 3, T0 + timedelta(hours=1))
    save(uow_factory, closed)
    with uow_factory() as uow:
        assert uow.threads.get(closed.key) == closed


def test_list_orders_by_latest_update_desc_and_pages_by_keyset(uow_factory):
    # three threads share a timestamp so the key breaks the tie
    rows = [thread(i, 2, i // 3) for i in range(1, 11)]
    save(uow_factory, *rows)
    expected = sorted(rows, key=lambda t: (t.latest_update_at, t.key), reverse=True)
    seen, query = [], ThreadListQuery(participant_ids=(2,), limit=3)
    with uow_factory() as uow:
        while True:
            page = uow.threads.list(query)
            seen += page
            if len(page) < query.limit:
                break
            last = page[-1]
            query = ThreadListQuery(participant_ids=(2,), limit=3, after=(last.latest_update_at, last.key))
    assert seen == expected


def test_list_filters(uow_factory):
    save(
        uow_factory,
        thread(1, 2, 0),
        thread(2, 2, 1, ThreadStatus.CLOSED, None),
        thread(3, 9, 2, helper=6),
        thread(1, 9, 3, helper=6),
    )
    with uow_factory() as uow:
        def keys(**kw):
            return [(t.key.item_id, t.key.participant_id) for t in uow.threads.list(ThreadListQuery(**kw))]

        assert keys(participant_ids=(2,)) == [(2, 2), (1, 2)]
        assert keys(participant_ids=(2, 9), item_id=1) == [(1, 9), (1, 2)]
        assert keys(helper_group_id=6) == [(1, 9), (3, 9)]
        assert keys(participant_ids=(2,), status=ThreadStatus.CLOSED) == [(2, 2)]
        assert keys(participant_ids=(2, 9), latest_update_gt=T0 + timedelta(minutes=1)) == [(1, 9), (3, 9)]
        assert keys(participant_ids=()) == []


def test_list_keeps_only_what_the_reader_may_read(request, backend):
    if backend == "dynamodb":
        pytest.skip("the DynamoDB store returns a superset of `readable`: the use case drops the rest")
    uow_factory = request.getfixturevalue("uow_factory")
    recent = T0 + timedelta(days=20)
    save(
        uow_factory,
        thread(1, 2, 0),  # the reader's own thread
        thread(3, 8, 1),  # on an item the reader watches (answer)
        thread(4, 8, 2, helper=6),  # helped item, the reader's helper group, open
        thread(4, 9, 3, ThreadStatus.CLOSED, helper=6),  # ... closed before helped_since
        thread(4, 7, 60 * 24 * 21, ThreadStatus.CLOSED, helper=6),  # ... closed after helped_since
        thread(4, 5, 5, helper=7),  # helped item, another helper group
        thread(5, 8, 6),  # nothing the reader may see
    )
    readable = ReadableThreads(
        participant_ids=frozenset({2}),
        item_ids=frozenset({3}),
        helped_item_ids=frozenset({4}),
        helper_group_ids=frozenset({2, 6}),
        helped_since=recent,
        keys=frozenset({ThreadKey(5, 9)}),
    )
    with uow_factory() as uow:
        def keys(**kw):
            listed = uow.threads.list(ThreadListQuery(readable=readable, **kw))
            return [(t.key.item_id, t.key.participant_id) for t in listed]

        assert keys(participant_ids=(2, 5, 7, 8, 9)) == [(4, 7), (4, 8), (3, 8), (1, 2)]
        assert keys(helper_group_id=6) == [(4, 7), (4, 8)]
        assert keys(helper_group_id=7) == []
        assert uow.threads.list(ThreadListQuery(helper_group_id=5, readable=ReadableThreads())) == []


def test_follows_put_get_delete_and_list(uow_factory):
    key = ThreadKey(1, 2)
    with uow_factory() as uow:
        uow.follows.put(Follow(key, 2))
        uow.follows.put(Follow(key, 3, T0))
        uow.follows.put(Follow(ThreadKey(1, 9), 2))
        uow.commit()
    with uow_factory() as uow:
        assert uow.follows.get(key, 3) == Follow(key, 3, T0)
        assert [f.user_id for f in uow.follows.of_thread(key)] == [2, 3]
        uow.follows.delete(key, 3)
        uow.follows.delete(key, 99)
        uow.commit()
    with uow_factory() as uow:
        assert uow.follows.get(key, 3) is None
        assert [f.user_id for f in uow.follows.of_thread(key)] == [2]


def test_read_markers(uow_factory):
    key = ThreadKey(1, 2)
    with uow_factory() as uow:
        assert uow.read_markers.get(key, 2) is None
        uow.read_markers.put(ReadMarker(key, 2, 4, 9))
        uow.commit()
    with uow_factory() as uow:
        uow.read_markers.put(ReadMarker(key, 2, 5, 11))
        uow.commit()
    with uow_factory() as uow:
        assert uow.read_markers.get(key, 2) == ReadMarker(key, 2, 5, 11)
