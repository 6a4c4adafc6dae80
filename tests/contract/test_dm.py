"""Patterns A–E of the dm context answer the same on memory, SQLite, PostgreSQL and DynamoDB Local."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from application.dm import conversations as conv
from application.dm import directory
from application.dm.ports import DmDeps
from application.shared import Actor
from domain.dm.model import GroupNotFound, NoProfile
from domain.shared import Conflict, InvalidValue
from tests.contract.dm_backends import DM_BACKENDS
from tests.unit.fakes import FakeClock

ANN, BOB, CAT = Actor(user_id=1), Actor(user_id=2), Actor(user_id=3)


@pytest.fixture(params=sorted(DM_BACKENDS))
def dm_backend(request):
    return request.param


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def deps(request, dm_backend, notifier, clock) -> DmDeps:
    factory = DM_BACKENDS[dm_backend](request, notifier)
    return DmDeps(uow=factory, clock=clock)


@pytest.fixture
def people(deps):
    return {
        actor.user_id: directory.set_profile(deps, actor, handle, name)
        for actor, handle, name in ((ANN, "ann", "Ann A"), (BOB, "bob", "Bob B"), (CAT, "cat", "Cat C"))
    }


def test_the_directory_keeps_one_uuid_per_user_and_unique_handles(deps):
    first = directory.set_profile(deps, ANN, "Ann", " Ann A ")
    assert (first.handle, first.display_name) == ("ann", "Ann A")
    again = directory.set_profile(deps, ANN, "annie", "Annie")
    assert again.uuid == first.uuid and directory.my_profile(deps, ANN).handle == "annie"
    with pytest.raises(Conflict) as taken:
        directory.set_profile(deps, BOB, "annie", "Bob")
    assert taken.value.details == {"handle": ["handle_taken"]}
    directory.set_profile(deps, BOB, "ann", "Bob")  # the old handle is free again
    with pytest.raises(NoProfile):
        directory.my_profile(deps, CAT)


def test_send_to_a_handle_creates_the_group_and_both_summaries(deps, people, clock):
    sent = conv.send_to_handle(deps, ANN, "bob", "  hello Bob  ")
    assert sent.created_group and sent.message.text == "hello Bob"
    clock.advance(seconds=1)
    reply = conv.send_to_handle(deps, BOB, "@ANN", "hi Ann")
    assert reply.group.uuid == sent.group.uuid and not reply.created_group
    [ann_row] = conv.list_groups(deps, ANN)
    [bob_row] = conv.list_groups(deps, BOB)
    assert (ann_row.other.handle, ann_row.other.display_name, ann_row.last_message) == ("bob", "Bob B", "hi Ann")
    assert (bob_row.other.uuid, bob_row.last_message, bob_row.unread) == (people[1].uuid, "hi Ann", 0)
    assert ann_row.unread == 1 and ann_row.last_message_at == reply.message.created_at
    texts = [m.text for m in conv.list_messages(deps, BOB, sent.group.uuid)]
    assert texts == ["hello Bob", "hi Ann"]


def test_send_in_a_group_moves_both_summaries_and_counts_unread(deps, people, clock):
    group = conv.send_to_handle(deps, ANN, "bob", "one").group
    for text in ("two", "three"):
        clock.advance(seconds=1)
        conv.send_in_group(deps, ANN, group.uuid, text)
    [bob_row] = conv.list_groups(deps, BOB)
    assert (bob_row.last_message, bob_row.unread) == ("three", 3)
    conv.mark_read(deps, BOB, group.uuid)
    assert conv.list_groups(deps, BOB)[0].unread == 0
    assert conv.list_groups(deps, ANN)[0].unread == 0


def test_messages_page_back_in_chronological_pages_without_a_date_cut_off(deps, people, clock):
    clock.current -= timedelta(days=3 * 365)  # years old: still listed
    group = conv.send_to_handle(deps, ANN, "bob", "m0").group
    for i in range(1, 25):
        clock.advance(days=30)
        conv.send_in_group(deps, ANN if i % 2 else BOB, group.uuid, f"m{i}")
    newest = conv.list_messages(deps, ANN, group.uuid)
    assert [m.text for m in newest] == [f"m{i}" for i in range(5, 25)]
    older = conv.list_messages(deps, ANN, group.uuid, before=newest[0].created_at, limit=3)
    assert [m.text for m in older] == ["m2", "m3", "m4"]
    rest = conv.list_messages(deps, ANN, group.uuid, before=older[0].created_at, limit=100)
    assert [m.text for m in rest] == ["m0", "m1"]


def test_groups_page_by_most_recent_activity(deps, people, clock):
    for user_id in range(10, 35):
        directory.set_profile(deps, Actor(user_id=user_id), f"user{user_id}", f"User {user_id}")
        clock.advance(seconds=1)
        conv.send_to_handle(deps, Actor(user_id=user_id), "ann", f"from {user_id}")
    first = conv.list_groups(deps, ANN)
    assert [row.other.handle for row in first] == [f"user{u}" for u in range(34, 14, -1)]
    second = conv.list_groups(deps, ANN, before=first[-1].last_message_at)
    assert [row.other.handle for row in second] == [f"user{u}" for u in range(14, 9, -1)]


def test_two_messages_at_the_same_instant_are_both_kept_in_order(deps, people):
    group = conv.send_to_handle(deps, ANN, "bob", "first").group
    conv.send_in_group(deps, BOB, group.uuid, "second")  # the clock did not move
    conv.send_to_handle(deps, CAT, "ann", "another group, same instant")
    texts = [m.text for m in conv.list_messages(deps, ANN, group.uuid)]
    assert texts == ["first", "second"]
    times = [row.last_message_at for row in conv.list_groups(deps, ANN)]
    assert len(set(times)) == 2


def test_only_the_two_members_may_read_or_write_a_group(deps, people):
    group = conv.send_to_handle(deps, ANN, "bob", "private").group
    for attempt in (
        lambda: conv.list_messages(deps, CAT, group.uuid),
        lambda: conv.send_in_group(deps, CAT, group.uuid, "let me in"),
        lambda: conv.mark_read(deps, CAT, group.uuid),
        lambda: conv.list_messages(deps, CAT, "not-a-uuid"),
        lambda: conv.list_messages(deps, ANN, "00000000-0000-4000-8000-000000000000"),
    ):
        with pytest.raises(GroupNotFound) as refused:
            attempt()
        assert refused.value.message == "no such message group"  # the same for a group that exists
    assert conv.list_groups(deps, CAT) == []
    assert [m.text for m in conv.list_messages(deps, BOB, group.uuid)] == ["private"]


def test_bad_sends_report_every_failing_field_and_change_nothing(deps, people):
    with pytest.raises(InvalidValue) as both:
        conv.send_to_handle(deps, ANN, "nobody", "   ")
    assert both.value.details == {"handle": ["handle_unknown"], "message": ["message_blank"]}
    with pytest.raises(InvalidValue) as mine:
        conv.send_to_handle(deps, ANN, "ann", "x" * 1025)
    assert mine.value.details == {"handle": ["handle_is_yourself"], "message": ["message_exceed_max_chars"]}
    with pytest.raises(InvalidValue) as missing:
        conv.send_to_handle(deps, ANN, None, "hi")
    assert missing.value.details == {"handle": ["handle_missing"]}
    conv.send_to_handle(deps, ANN, "bob", "x" * 1024)  # the bound itself is fine
    assert len(conv.list_groups(deps, ANN)) == 1


def test_both_first_messages_at_once_make_exactly_one_group(deps, people):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send(actor, handle):
        barrier.wait()
        try:
            results.append(conv.send_to_handle(deps, actor, handle, f"hello {handle}"))
        except Exception as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=send, args=a) for a in ((ANN, "bob"), (BOB, "ann"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len({r.group.uuid for r in results}) == 1
    assert sum(r.created_group for r in results) == 1
    for actor in (ANN, BOB):
        [row] = conv.list_groups(deps, actor)
        assert row.group_uuid == results[0].group.uuid
    assert len(conv.list_messages(deps, ANN, results[0].group.uuid)) == 2


def test_concurrent_sends_leave_one_summary_per_member_at_the_newest_message(deps, people):
    group = conv.send_to_handle(deps, ANN, "bob", "start").group
    barrier = threading.Barrier(4)

    def send(actor, n):
        barrier.wait()
        for i in range(3):
            conv.send_in_group(deps, actor, group.uuid, f"{n}-{i}")

    threads = [threading.Thread(target=send, args=(a, n)) for n, a in enumerate((ANN, BOB, ANN, BOB))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    messages = conv.list_messages(deps, ANN, group.uuid, limit=100)
    assert len(messages) == 13
    for actor in (ANN, BOB):
        [row] = conv.list_groups(deps, actor)
        assert row.last_message_at == messages[-1].created_at and row.last_message == messages[-1].text


def test_a_send_publishes_to_both_members_and_the_group_topic(deps, people, notifier):
    sent = conv.send_to_handle(deps, ANN, "bob", "live")
    by_topic = {p.topic: p.payload for p in notifier.published}
    assert sorted(by_topic) == [f"dm.group.{sent.group.uuid}", "user.inbox.1", "user.inbox.2"]
    assert by_topic[f"dm.group.{sent.group.uuid}"]["event"]["message"] == "live"
    bobs = by_topic["user.inbox.2"]
    assert bobs["new_group"] is True and bobs["group"]["user_handle"] == "ann" and bobs["group"]["unread_count"] == 1


def test_missed_since_resumes_after_a_message(deps, people, clock):
    group = conv.send_to_handle(deps, ANN, "bob", "a").group
    seen = conv.list_messages(deps, BOB, group.uuid)[-1]
    for text in ("b", "c"):
        clock.advance(seconds=1)
        conv.send_in_group(deps, ANN, group.uuid, text)
    pages = list(conv.missed_since(deps, BOB, group.uuid, seen.created_at))
    assert [m.text for page in pages for m in page] == ["b", "c"]
    with pytest.raises(GroupNotFound):
        list(conv.missed_since(deps, CAT, group.uuid, seen.created_at))


class Crash(Exception):
    """Stands for the process dying in the middle of a send."""


def _snapshot(deps, group_uuid):
    return (
        [(m.text, m.created_at) for m in conv.list_messages(deps, ANN, group_uuid, limit=100)],
        conv.list_groups(deps, ANN),
        conv.list_groups(deps, BOB),
    )


def _crashing(factory, wrap):
    def make():
        uow = factory()
        wrap(uow)
        return uow

    return make


def test_a_crash_after_every_part_of_a_send_but_before_its_commit_keeps_nothing(deps, people, clock):
    group = conv.send_to_handle(deps, ANN, "bob", "kept").group
    before = _snapshot(deps, group.uuid)

    def crash_after_record(uow):
        record = uow.groups.record

        def record_then_crash(*args, **kwargs):
            record(*args, **kwargs)
            raise Crash()

        uow.groups.record = record_then_crash

    healthy, deps.uow = deps.uow, _crashing(deps.uow, crash_after_record)
    clock.advance(seconds=1)
    with pytest.raises(Crash):
        conv.send_in_group(deps, BOB, group.uuid, "lost")
    with pytest.raises(Crash):
        conv.send_to_handle(deps, CAT, "ann", "lost too")
    deps.uow = healthy
    assert _snapshot(deps, group.uuid) == before
    assert conv.list_groups(deps, CAT) == []
    sent = conv.send_in_group(deps, BOB, group.uuid, "after the crash")
    assert conv.list_groups(deps, ANN)[0].last_message_at == sent.message.created_at


@pytest.fixture(params=["sqlite", "postgres"])
def sql_deps(request, notifier, clock) -> DmDeps:
    return DmDeps(uow=DM_BACKENDS[request.param](request, notifier), clock=clock)


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4, 5])
def test_sql_a_crash_between_any_two_statements_of_a_send_keeps_nothing(sql_deps, clock, crash_at):
    """Statement by statement on SQL; DynamoDB sends one request (tests/contract/test_dm_dynamodb.py)
    and memory applies a unit's writes only at commit."""
    deps = sql_deps
    for actor, handle in ((ANN, "ann"), (BOB, "bob")):
        directory.set_profile(deps, actor, handle, handle.title())
    group = conv.send_to_handle(deps, ANN, "bob", "kept").group
    before = _snapshot(deps, group.uuid)

    def crash_inside_record(uow):
        record, tx = uow.groups.record, uow.groups._tx
        execute = tx.execute

        def record_with_crash(*args, **kwargs):
            count = 0

            def counted(*a, **k):
                nonlocal count
                count += 1
                if count == crash_at:
                    raise Crash()
                return execute(*a, **k)

            tx.execute = counted
            try:
                record(*args, **kwargs)
            finally:
                tx.execute = execute

        uow.groups.record = record_with_crash

    healthy, deps.uow = deps.uow, _crashing(deps.uow, crash_inside_record)
    clock.advance(seconds=1)
    with pytest.raises(Crash):
        conv.send_in_group(deps, BOB, group.uuid, "lost")
    deps.uow = healthy
    assert _snapshot(deps, group.uuid) == before
