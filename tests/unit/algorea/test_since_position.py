"""`position_seen_at`: where a subscriber that kept only the time of its last message stands in the
thread, whatever the store's times look like (several per millisecond, writers' clocks apart)."""

from __future__ import annotations

from datetime import timedelta

from application.forum import messages
from application.forum.subscribing import epoch_ms, position_seen_at
from application.shared import Actor
from domain.forum import events as ev
from tests.unit.fakes import make_forum
from tests.unit.forum.test_use_cases import KEY, LEARNER, open_thread, tables


def forum():
    deps, state, notifier, grants, clock = make_forum(tables())
    open_thread(deps)  # seq 1: thread_opened
    return deps, state, clock


def post(deps, text: str) -> int:
    return messages.post_message(deps, Actor(LEARNER), KEY, text, None).message.seq


def test_the_last_seen_message_is_the_position_even_with_later_events_of_its_millisecond(monkeypatch):
    deps, _, clock = forum()
    seen = post(deps, "seen")
    post(deps, "same millisecond, later")  # the newest of that millisecond counts as seen
    clock.advance(milliseconds=5)
    post(deps, "missed")
    newest_of_ms = seen + 1
    assert position_seen_at(deps, KEY, epoch_ms(clock.now() - timedelta(milliseconds=5))).seq == newest_of_ms


def test_a_message_older_in_order_but_stamped_later_still_anchors():
    """Two writers whose clocks differ: the message with the time the client kept is found by its
    time, not by the first event at or before that time."""
    deps, state, clock = forum()
    with deps.uow() as uow:
        late_clock = uow.events.append(ev.message_posted(KEY, LEARNER, "from a fast clock", "fast", clock.now()
                                                         + timedelta(milliseconds=50)))
        uow.events.append(ev.message_posted(KEY, LEARNER, "from a slow clock", "slow", clock.now()))
        uow.commit()
    assert position_seen_at(deps, KEY, epoch_ms(late_clock.time)).seq == late_clock.seq


def test_without_the_message_the_newest_event_at_or_before_counts_and_before_all_is_the_start():
    deps, _, clock = forum()
    first = post(deps, "a")
    clock.advance(milliseconds=10)
    post(deps, "b")
    assert position_seen_at(deps, KEY, epoch_ms(clock.now()) - 5).seq == first
    assert position_seen_at(deps, KEY, epoch_ms(clock.now()) - 10_000).seq == 0
    assert position_seen_at(deps, KEY, epoch_ms(clock.now()) + 10_000).seq == first + 1


def test_at_most_limit_events_are_looked_at():
    deps, _, clock = forum()
    seqs = []
    for n in range(30):
        clock.advance(milliseconds=1)
        seqs.append(post(deps, f"m{n}"))
    long_ago = epoch_ms(clock.now()) - 10_000
    # Ten events looked at, none as old: the oldest of them counts as seen, the nine after it are sent.
    assert position_seen_at(deps, KEY, long_ago, limit=10).seq == seqs[-10]
