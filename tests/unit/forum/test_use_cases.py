"""Forum use cases on the in-memory fakes: rights per kind of actor, idempotency, paging, follows."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from adapters.memory.permissions import GrantTables
from application.forum import follows, history, messages, threads
from application.forum.ports import ReadableThreads
from application.forum.threads import ThreadFilters, ThreadSelection
from application.shared import Actor
from domain.forum import events as ev
from domain.forum.model import Thread, ThreadKey, ThreadStatus, ThreadUpdate
from domain.forum.policy import ViewLevel, WatchLevel
from domain.shared import Conflict, Cursor, Forbidden, InvalidRequest, InvalidValue, NotFound
from tests.unit.fakes import make_forum

S = ThreadStatus
ITEM, LEARNER, HELPERS, CLASS = 10, 20, 5, 100
KEY = ThreadKey(ITEM, LEARNER)
HELPER_VALIDATED, WATCHER, HELPER_TRAINER, STRANGER, MANAGERS = 30, 40, 50, 60, 41


def tables() -> GrantTables:
    t = GrantTables()
    for user in (LEARNER, HELPER_VALIDATED, WATCHER, HELPER_TRAINER, STRANGER):
        t.add_member(CLASS, user)
    t.grant(CLASS, ITEM, ViewLevel.CONTENT, can_request_help_to=(HELPERS,))
    t.add_member(HELPERS, HELPER_VALIDATED)
    t.add_member(HELPERS, HELPER_TRAINER)
    t.grant(HELPER_VALIDATED, ITEM, can_watch=WatchLevel.RESULT)
    t.validate(HELPER_VALIDATED, ITEM)
    t.grant(HELPER_TRAINER, ITEM, can_watch=WatchLevel.ANSWER)
    t.add_member(MANAGERS, WATCHER)
    t.grant(MANAGERS, ITEM, can_watch=WatchLevel.ANSWER)
    t.add_manager(MANAGERS, CLASS)
    return t


@pytest.fixture
def forum():
    return make_forum(tables())


def user(uid: int) -> Actor:
    return Actor(uid)


def open_thread(deps, by=LEARNER, status=S.WAITING_FOR_TRAINER):
    return threads.update_thread(deps, user(by), KEY, ThreadUpdate(status=status, helper_group_id=HELPERS))


def close_thread(deps, by=LEARNER):
    return threads.update_thread(deps, user(by), KEY, ThreadUpdate(status=S.CLOSED))


def test_reading_a_thread_never_stored_gives_not_started(forum):
    deps, *_ = forum
    view = threads.get_thread(deps, user(LEARNER), KEY)
    assert view.thread.status == S.NOT_STARTED and view.thread.latest_update_at is None and not view.can_write


def test_stranger_cannot_read(forum):
    deps, *_ = forum
    with pytest.raises(Forbidden):
        threads.get_thread(deps, user(STRANGER), KEY)


def test_participant_opens_and_both_become_followers(forum):
    deps, state, notifier, *_ = forum
    view = open_thread(deps)
    assert view.thread.status == S.WAITING_FOR_TRAINER and view.can_write
    assert follows.get_follow(deps, user(LEARNER), KEY).following
    assert [p.payload["event"]["type"] for p in notifier.published] == ["thread_opened"]


def test_participant_may_not_ask_help_from_a_group_it_has_no_right_to(forum):
    deps, *_ = forum
    with pytest.raises(InvalidRequest) as err:
        threads.update_thread(deps, user(LEARNER), KEY, ThreadUpdate(status=S.WAITING_FOR_TRAINER, helper_group_id=999))
    assert "helper_group_id" in err.value.details


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [(WATCHER, True), (HELPER_TRAINER, False), (HELPER_VALIDATED, False), (STRANGER, False)],
)
def test_only_the_participant_or_a_watcher_opens(forum, actor, allowed):
    deps, *_ = forum
    if allowed:
        open_thread(deps, by=actor)
        assert follows.get_follow(deps, user(actor), KEY).following
        assert follows.get_follow(deps, user(LEARNER), KEY).following
    else:
        with pytest.raises(Forbidden):
            open_thread(deps, by=actor)
        assert threads.get_thread(deps, user(LEARNER), KEY).thread.status == S.NOT_STARTED


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [(LEARNER, True), (WATCHER, True), (HELPER_TRAINER, True), (HELPER_VALIDATED, True), (STRANGER, False)],
)
def test_switching_open_statuses_needs_write_rights(forum, actor, allowed):
    deps, *_ = forum
    open_thread(deps)
    update = ThreadUpdate(status=S.WAITING_FOR_PARTICIPANT)
    if allowed:
        assert threads.update_thread(deps, user(actor), KEY, update).thread.status == S.WAITING_FOR_PARTICIPANT
    else:
        with pytest.raises(Forbidden):
            threads.update_thread(deps, user(actor), KEY, update)


@pytest.mark.parametrize("actor", [WATCHER, HELPER_TRAINER, HELPER_VALIDATED, STRANGER])
def test_only_the_participant_closes(forum, actor):
    deps, *_ = forum
    open_thread(deps)
    with pytest.raises(Forbidden):
        close_thread(deps, by=actor)
    assert close_thread(deps).thread.status == S.CLOSED


def test_closing_gives_follows_an_expiry_and_reopening_lifts_it(forum):
    deps, _, _, _, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, user(WATCHER), KEY)
    close_thread(deps)
    state = follows.get_follow(deps, user(WATCHER), KEY)
    assert state.following and state.expires_at == clock.now() + timedelta(weeks=2)
    clock.advance(days=15)
    assert not follows.get_follow(deps, user(WATCHER), KEY).following
    open_thread(deps)
    assert follows.get_follow(deps, user(LEARNER), KEY).expires_at is None


def test_setting_the_current_status_again_is_allowed_for_a_reader(forum):
    deps, *_ = forum
    open_thread(deps)
    close_thread(deps)
    view = threads.update_thread(deps, user(WATCHER), KEY, ThreadUpdate(status=S.CLOSED))
    assert view.thread.status == S.CLOSED


def test_update_without_status_needs_write_rights(forum):
    deps, *_ = forum
    open_thread(deps)
    with pytest.raises(Forbidden):
        threads.update_thread(deps, user(STRANGER), KEY, ThreadUpdate(message_count_increment=1))
    view = threads.update_thread(deps, user(HELPER_TRAINER), KEY, ThreadUpdate(message_count_increment=1))
    assert view.thread.message_count == 1


def test_posting_is_idempotent_on_uuid(forum):
    deps, state, notifier, *_ = forum
    open_thread(deps)
    first = messages.post_message(deps, user(LEARNER), KEY, " hello ", "abc")
    again = messages.post_message(deps, user(LEARNER), KEY, "hello", "abc")
    assert first.created and not again.created
    assert again.message == first.message and first.message.data["text"] == "hello"
    assert len(messages.list_messages(deps, user(LEARNER), KEY, None, 20)) == 1
    assert threads.get_thread(deps, user(LEARNER), KEY).thread.message_count == 1
    assert [p.payload["event"]["type"] for p in notifier.published] == ["thread_opened", "message"]


def test_reusing_a_uuid_for_other_text_or_by_another_user_is_a_conflict(forum):
    deps, *_ = forum
    open_thread(deps)
    messages.post_message(deps, user(LEARNER), KEY, "hello", "abc")
    with pytest.raises(Conflict):
        messages.post_message(deps, user(LEARNER), KEY, "other", "abc")
    with pytest.raises(Conflict):
        messages.post_message(deps, user(WATCHER), KEY, "hello", "abc")


def test_posting_on_a_thread_that_is_not_open_is_a_conflict_and_stores_nothing(forum):
    deps, *_ = forum
    with pytest.raises(Conflict):
        messages.post_message(deps, user(LEARNER), KEY, "hi", "u1")
    open_thread(deps)
    close_thread(deps)
    with pytest.raises(Conflict):
        messages.post_message(deps, user(LEARNER), KEY, "hi", "u1")
    assert messages.list_messages(deps, user(LEARNER), KEY, None, 20) == []


def test_posting_needs_write_rights(forum):
    deps, *_ = forum
    open_thread(deps)
    with pytest.raises(Forbidden):
        messages.post_message(deps, user(STRANGER), KEY, "hi", "u1")
    assert messages.post_message(deps, user(HELPER_VALIDATED), KEY, "hint", "u2").created


def test_bad_message_text_changes_nothing(forum):
    deps, *_ = forum
    open_thread(deps)
    for text in ["   ", "x" * 4001]:
        with pytest.raises(InvalidValue):
            messages.post_message(deps, user(LEARNER), KEY, text, "u1")
    assert threads.get_thread(deps, user(LEARNER), KEY).thread.message_count == 0


def test_author_posting_becomes_a_follower(forum):
    deps, *_ = forum
    open_thread(deps)
    assert not follows.get_follow(deps, user(HELPER_TRAINER), KEY).following
    messages.post_message(deps, user(HELPER_TRAINER), KEY, "hint", "u2")
    assert follows.get_follow(deps, user(HELPER_TRAINER), KEY).following


def post_many(deps, n):
    return [messages.post_message(deps, user(LEARNER), KEY, f"m{i}", f"u{i}").message for i in range(n)]


def test_messages_page_newest_first_with_exact_boundaries(forum):
    deps, *_ = forum
    open_thread(deps)
    posted = post_many(deps, 20)
    first = messages.list_messages(deps, user(LEARNER), KEY, None, 10)
    assert [m.data["text"] for m in first] == [f"m{i}" for i in range(19, 9, -1)]
    second = messages.list_messages(deps, user(LEARNER), KEY, first[-1].cursor, 10)
    assert [m.data["text"] for m in second] == [f"m{i}" for i in range(9, -1, -1)]
    assert messages.list_messages(deps, user(LEARNER), KEY, second[-1].cursor, 10) == []
    assert len(posted) == 20


def test_events_page_oldest_first_and_resume(forum):
    deps, *_ = forum
    assert history.list_events(deps, user(LEARNER), KEY, None, 10) == []
    open_thread(deps)
    post_many(deps, 9)
    page1 = history.list_events(deps, user(LEARNER), KEY, None, 5)
    page2 = history.list_events(deps, user(LEARNER), KEY, page1[-1].cursor, 5)
    assert [e.type for e in page1][:1] == ["thread_opened"]
    assert len(page1) == 5 and len(page2) == 5
    assert history.list_events(deps, user(LEARNER), KEY, page2[-1].cursor, 5) == []
    assert [e.seq for e in page1 + page2] == list(range(1, 11))


def test_edit_and_delete_own_message(forum):
    deps, *_ = forum
    open_thread(deps)
    messages.post_message(deps, user(LEARNER), KEY, "helo", "u1")
    edited = messages.edit_message(deps, user(LEARNER), KEY, "u1", "hello")
    assert edited.data["text"] == "hello" and "edited_at" in edited.data
    with pytest.raises(Forbidden):
        messages.edit_message(deps, user(WATCHER), KEY, "u1", "hacked")
    with pytest.raises(Forbidden):
        messages.delete_message(deps, user(HELPER_TRAINER), KEY, "u1")
    messages.delete_message(deps, user(LEARNER), KEY, "u1")
    listed = messages.list_messages(deps, user(LEARNER), KEY, None, 10)
    assert listed[0].data == {"uuid": "u1", "deleted": True}
    with pytest.raises(NotFound):
        messages.edit_message(deps, user(LEARNER), KEY, "u1", "again")
    types = [e.type for e in history.list_events(deps, user(LEARNER), KEY, None, 10)]
    assert types == ["thread_opened", "message", "message_edited", "message_deleted"]
    # a retry of the original post still answers with the original, not a new message
    assert not messages.post_message(deps, user(LEARNER), KEY, "helo", "u1").created


def test_a_watcher_moderates_even_a_closed_thread(forum):
    deps, *_ = forum
    open_thread(deps)
    messages.post_message(deps, user(LEARNER), KEY, "rude", "u1")
    close_thread(deps)
    messages.delete_message(deps, user(WATCHER), KEY, "u1")
    assert messages.list_messages(deps, user(LEARNER), KEY, None, 10)[0].data["deleted"] is True


def test_task_events_need_the_service_scope(forum):
    deps, *_ = forum
    event = ev.submission(KEY, 7, 8, deps.now(), score=50.0, validated=False)
    with pytest.raises(Forbidden):
        history.record_task_event(deps, user(LEARNER), event)
    stored = history.record_task_event(deps, Actor(None, frozenset({"forum:events"})), event)
    assert stored.data == {"attempt_id": 7, "answer_id": 8, "score": 50.0, "validated": False}
    assert threads.get_thread(deps, user(LEARNER), KEY).thread.status == S.NOT_STARTED


def test_list_threads_mine_with_unread_counts_and_keyset_paging(forum):
    deps, _, _, grants, clock = forum
    for item in range(1, 6):
        grants.grant(CLASS, item, ViewLevel.CONTENT, can_request_help_to=(HELPERS,))
        threads.update_thread(
            deps,
            user(LEARNER),
            ThreadKey(item, LEARNER),
            ThreadUpdate(status=S.WAITING_FOR_TRAINER, helper_group_id=HELPERS),
        )
        clock.advance(minutes=1)
    first = threads.list_threads(deps, user(LEARNER), ThreadSelection(is_mine=True), ThreadFilters(), 2)
    assert [v.thread.key.item_id for v in first] == [5, 4]
    last = first[-1].thread
    rest = threads.list_threads(
        deps, user(LEARNER), ThreadSelection(is_mine=True), ThreadFilters(), 10, (last.latest_update_at, last.key)
    )
    assert [v.thread.key.item_id for v in rest] == [3, 2, 1]
    assert all(v.unread_count == 0 for v in first + rest)


def test_list_threads_skips_what_the_user_cannot_read(forum):
    deps, *_ = forum
    open_thread(deps)
    helped = threads.list_threads(
        deps, user(HELPER_VALIDATED), ThreadSelection(helper_group_id=HELPERS), ThreadFilters(), 10
    )
    assert [v.thread.key for v in helped] == [KEY]
    hidden = threads.list_threads(deps, user(STRANGER), ThreadSelection(helper_group_id=HELPERS), ThreadFilters(), 10)
    assert hidden == []
    watched = threads.list_threads(deps, user(WATCHER), ThreadSelection(watched_group_id=CLASS), ThreadFilters(), 10)
    assert [v.thread.key for v in watched] == [KEY]


class CountingPermissions:
    """The forum's permissions, counting the per-thread grants lookups."""

    def __init__(self, inner):
        self._inner, self.grants_asked = inner, 0

    def grants(self, *args, **kwargs):
        self.grants_asked += 1
        return self._inner.grants(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_thread_list_asks_grants_only_for_rows_the_user_may_read(forum):
    deps, state, _, _, clock = forum
    counting = CountingPermissions(deps.permissions)
    deps = dataclasses.replace(deps, permissions=counting)
    for n in range(300):
        key = ThreadKey(ITEM, 10_000 + n)
        state.threads[key] = Thread(key, S.WAITING_FOR_TRAINER, HELPERS, 0, clock.now() - timedelta(seconds=n))
    helped = ThreadSelection(helper_group_id=HELPERS)
    assert threads.list_threads(deps, user(STRANGER), helped, ThreadFilters(), 20) == []
    assert counting.grants_asked == 0  # before issue 11: one per thread of the group, 300
    page = threads.list_threads(deps, user(HELPER_VALIDATED), helped, ThreadFilters(), 20)
    assert len(page) == 20 and counting.grants_asked == 20


def test_a_thread_list_examines_a_bounded_number_of_rows(forum):
    """A store that cannot filter by readability (DynamoDB) costs at most LIST_SCAN_LIMIT rows."""
    deps, state, _, _, clock = forum

    class Unfiltered(CountingPermissions):
        def readable_threads(self, user_id, now):
            return ReadableThreads(participant_ids=frozenset(range(10_000, 20_000)))

    counting = Unfiltered(deps.permissions)
    deps = dataclasses.replace(deps, permissions=counting)
    for n in range(threads.LIST_SCAN_LIMIT * 2):
        key = ThreadKey(ITEM, 10_000 + n)
        state.threads[key] = Thread(key, S.WAITING_FOR_TRAINER, HELPERS, 0, clock.now() - timedelta(seconds=n))
    helped = ThreadSelection(helper_group_id=HELPERS)
    assert threads.list_threads(deps, user(STRANGER), helped, ThreadFilters(), 20) == []
    assert counting.grants_asked <= threads.LIST_SCAN_LIMIT


def test_list_threads_needs_exactly_one_selection(forum):
    deps, *_ = forum
    with pytest.raises(InvalidRequest):
        threads.list_threads(deps, user(LEARNER), ThreadSelection(), ThreadFilters(), 10)
    with pytest.raises(InvalidRequest):
        threads.list_threads(deps, user(LEARNER), ThreadSelection(is_mine=True, helper_group_id=5), ThreadFilters(), 10)


def test_unread_count_and_mark_read(forum):
    deps, *_ = forum
    open_thread(deps)
    post_many(deps, 3)
    assert threads.get_thread(deps, user(WATCHER), KEY).unread_count == 3
    marker = messages.mark_read(deps, user(WATCHER), KEY)
    assert marker.seen_message_count == 3 and marker.last_seq == 4
    assert threads.get_thread(deps, user(WATCHER), KEY).unread_count == 0


def test_a_failed_use_case_publishes_nothing(forum):
    deps, state, notifier, *_ = forum
    open_thread(deps)
    before = list(notifier.published)
    with pytest.raises(Forbidden):
        messages.post_message(deps, user(STRANGER), KEY, "hi", "u1")
    assert notifier.published == before


def test_follow_and_unfollow_need_read_rights(forum):
    deps, *_ = forum
    open_thread(deps)
    with pytest.raises(Forbidden):
        follows.follow_thread(deps, user(STRANGER), KEY)
    assert follows.follow_thread(deps, user(HELPER_TRAINER), KEY).following
    assert not follows.unfollow_thread(deps, user(HELPER_TRAINER), KEY).following
    assert not follows.get_follow(deps, user(HELPER_TRAINER), KEY).following


def test_cursor_survives_encoding_across_pages(forum):
    deps, *_ = forum
    open_thread(deps)
    post_many(deps, 3)
    page = messages.list_messages(deps, user(LEARNER), KEY, None, 2)
    token = page[-1].cursor.encode()
    older = messages.list_messages(deps, user(LEARNER), KEY, Cursor.decode(token), 2)
    assert [m.data["text"] for m in older] == ["m0"]


def test_restating_a_closed_status_does_not_extend_the_read_window(forum):
    deps, _, _, _, clock = forum
    open_thread(deps)
    close_thread(deps)
    closed_at = threads.get_thread(deps, user(LEARNER), KEY).thread.latest_update_at
    clock.advance(days=13)
    threads.update_thread(deps, user(HELPER_VALIDATED), KEY, ThreadUpdate(status=S.CLOSED))
    assert threads.get_thread(deps, user(LEARNER), KEY).thread.latest_update_at == closed_at
    clock.advance(days=2)
    with pytest.raises(Forbidden):  # the validated helper's two weeks after the close are over
        threads.get_thread(deps, user(HELPER_VALIDATED), KEY)


def test_following_a_closed_thread_ends_two_weeks_after_its_close(forum):
    deps, _, _, _, clock = forum
    open_thread(deps)
    close_thread(deps)
    closed_at = clock.now()
    clock.advance(days=3)
    state = follows.follow_thread(deps, user(WATCHER), KEY)
    assert state.following and state.expires_at == closed_at + timedelta(weeks=2)


def test_reopening_does_not_revive_follows_that_ran_out(forum):
    deps, _, _, _, clock = forum
    open_thread(deps)
    follows.follow_thread(deps, user(WATCHER), KEY)
    close_thread(deps)
    clock.advance(days=15)
    open_thread(deps)
    assert not follows.get_follow(deps, user(WATCHER), KEY).following
    assert follows.get_follow(deps, user(LEARNER), KEY).following  # the opener follows again


def test_a_helper_reads_pages_only_while_the_thread_lets_them(forum):
    # Pages skip the thread's read for the participant and watchers of answers; a helper with
    # can_watch=result depends on the thread's state, so it is read for them (and a leak would show).
    deps, _state, _notifier, _tables, clock = forum
    open_thread(deps)
    messages.post_message(deps, user(LEARNER), KEY, "hello", "p1")
    assert len(messages.list_messages(deps, user(HELPER_VALIDATED), KEY, None, 10)) == 1
    assert len(history.list_events(deps, user(HELPER_VALIDATED), KEY, None, 10)) >= 1
    close_thread(deps)
    clock.advance(days=15)
    for read in (messages.list_messages, history.list_events):
        with pytest.raises(Forbidden):
            read(deps, user(HELPER_VALIDATED), KEY, None, 10)
        with pytest.raises(Forbidden):
            read(deps, user(STRANGER), KEY, None, 10)
    assert len(messages.list_messages(deps, user(LEARNER), KEY, None, 10)) == 1
    assert len(messages.list_messages(deps, user(HELPER_TRAINER), KEY, None, 10)) == 1
