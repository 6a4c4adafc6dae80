"""Property tests: the policy functions agree with a plain restatement of DESIGN.md §2.1.

The reference below is written from the design text, not from policy.py: plain integers for the
levels (view: 0 none .. 2 content ..; watch: 0 none, 1 result, 2 answer, 3 answer_with_grant),
one boolean expression per sentence of the rules, and the update checked in the design's order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.forum.grant_facts import grants_from_thread_claims
from application.shared import ThreadClaims
from domain.forum.model import Thread, ThreadKey, ThreadStatus, ThreadUpdate
from domain.forum.policy import (
    Grants,
    ViewLevel,
    WatchLevel,
    can_read,
    can_read_in_any_state,
    can_write,
    check_update,
)
from domain.shared import Forbidden, InvalidRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = ThreadKey(10, 20)
TWO_WEEKS = timedelta(days=14)
CONTENT, RESULT, ANSWER = 2, 1, 2
OPEN_STATUSES = ("waiting_for_participant", "waiting_for_trainer")


# ---- reference formulation -------------------------------------------------------------------

def ref_is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def ref_can_read(g: Grants, status: str, updated_at: datetime | None) -> bool:
    view, watch = int(g.can_view), int(g.can_watch)
    closed_recently = status == "closed" and updated_at is not None and NOW - updated_at < TWO_WEEKS
    return view >= CONTENT and (
        g.is_participant
        or watch >= ANSWER
        or (watch == RESULT and g.is_helper_group_member and (ref_is_open(status) or closed_recently) and g.validated)
    )


def ref_can_write(g: Grants, status: str) -> bool:
    # Every thread action first needs can_view >= content (update step 1, and reading); the write
    # rule is only ever asked after that, and the policy states it inside can_write.
    if int(g.can_view) < CONTENT or not ref_is_open(status):
        return False
    if g.write_decided is not None:  # a thread token's can_write claim is the decision
        return g.write_decided
    watch = int(g.can_watch)
    return (
        g.is_participant
        or (watch >= ANSWER and g.can_watch_members)
        or (g.is_helper_group_member and (watch >= ANSWER or (watch == RESULT and g.validated)))
    )


def ref_update_outcome(g: Grants, current: str, updated_at: datetime | None, u: ThreadUpdate) -> str:
    """'ok', 'invalid' (400) or 'forbidden' (403), in the design's order of checks."""
    # 1. can_view >= content, and (issue 11, defect 9) the right to read the thread: a user who may
    # not read it learns nothing about it, not even its status through a 200 or a 400.
    if int(g.can_view) < CONTENT or not ref_can_read(g, current, updated_at):
        return "forbidden"
    # 2. the body
    status = None if u.status is None else str(u.status)
    if status is None and u.helper_group_id is None and u.message_count is None and u.message_count_increment is None:
        return "invalid"
    if status is not None and status not in ("waiting_for_participant", "waiting_for_trainer", "closed"):
        return "invalid"
    target = status if status is not None else current
    opening = ref_is_open(target) and not ref_is_open(current)
    if opening and u.helper_group_id is None:
        return "invalid"
    if target == "closed" and u.helper_group_id is not None:
        return "invalid"
    if u.message_count is not None and u.message_count < 0:
        return "invalid"
    if u.message_count is not None and u.message_count_increment is not None:
        return "invalid"
    if g.is_participant and u.helper_group_id is not None and not g.can_request_help_to:
        return "invalid"
    # 3. rights
    only_status = u.helper_group_id is None and u.message_count is None and u.message_count_increment is None
    if status is None or (status == current and not only_status):
        return "ok" if g.is_participant and status is not None or ref_can_write(g, current) else "forbidden"
    if status == current or g.is_participant:
        return "ok"
    if opening and int(g.can_watch) >= ANSWER and g.can_watch_members:
        return "ok"
    if ref_is_open(current) and ref_is_open(target) and ref_can_write(g, current):
        return "ok"
    return "forbidden"


# ---- strategies --------------------------------------------------------------------------------

grants_st = st.builds(
    Grants,
    can_view=st.sampled_from(ViewLevel),
    can_watch=st.sampled_from(WatchLevel),
    can_watch_members=st.booleans(),
    is_participant=st.booleans(),
    is_helper_group_member=st.booleans(),
    validated=st.booleans(),
    can_request_help_to=st.booleans(),
    write_decided=st.none() | st.booleans(),
)
facts_grants_st = grants_st.map(lambda g: Grants(**{**g.__dict__, "write_decided": None}))


@st.composite
def threads(draw) -> Thread:
    status = draw(st.sampled_from(ThreadStatus))
    if status == ThreadStatus.NOT_STARTED:
        return Thread.not_started(KEY)
    age = draw(st.sampled_from([timedelta(0), TWO_WEEKS - timedelta(milliseconds=1), TWO_WEEKS])
               | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
    helper = draw(st.none() | st.integers(1, 5))
    return Thread(KEY, status, helper, draw(st.integers(0, 5)), NOW - age)


updates = st.builds(
    ThreadUpdate,
    status=st.none() | st.sampled_from(ThreadStatus),
    helper_group_id=st.none() | st.integers(1, 5),
    message_count=st.none() | st.integers(-2, 3),
    message_count_increment=st.none() | st.integers(-3, 3),
)


def outcome(g: Grants, thread: Thread, update: ThreadUpdate) -> str:
    try:
        check_update(g, thread, update, NOW)
    except Forbidden:
        return "forbidden"
    except InvalidRequest:
        return "invalid"
    return "ok"


# ---- properties --------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(grants_st, threads())
def test_can_read_matches_the_reference(g, thread):
    assert can_read(g, thread, NOW) == ref_can_read(g, str(thread.status), thread.latest_update_at)


@settings(max_examples=150, deadline=None)
@given(grants_st, threads())
def test_readable_in_any_state_means_readable_in_this_one(g, thread):
    # A page of history skips loading the thread when this holds (application/forum/deps.py).
    if can_read_in_any_state(g):
        assert ref_can_read(g, str(thread.status), thread.latest_update_at)
    # And it holds for the participant and for watchers of answers only.
    assert can_read_in_any_state(g) == (int(g.can_view) >= CONTENT and (g.is_participant or int(g.can_watch) >= ANSWER))


@settings(max_examples=150, deadline=None)
@given(grants_st, threads())
def test_can_write_matches_the_reference(g, thread):
    assert can_write(g, thread) == ref_can_write(g, str(thread.status))


@settings(max_examples=300, deadline=None)
@given(grants_st, threads(), updates)
def test_check_update_matches_the_reference(g, thread, update):
    assert outcome(g, thread, update) == ref_update_outcome(g, str(thread.status), thread.latest_update_at, update)


@settings(max_examples=150, deadline=None)
@given(facts_grants_st, threads())
def test_whoever_may_write_may_read(g, thread):
    if can_write(g, thread):
        assert can_read(g, thread, NOW)


@settings(max_examples=150, deadline=None)
@given(facts_grants_st, threads(), updates)
def test_only_the_participant_ever_closes(g, thread, update):
    closes = update.status == ThreadStatus.CLOSED and thread.status != ThreadStatus.CLOSED
    if closes and outcome(g, thread, update) == "ok":
        assert g.is_participant


@settings(max_examples=100, deadline=None)
@given(st.booleans(), st.booleans(), st.booleans(), threads(), st.sampled_from([(10, 20), (11, 20), (10, 21)]))
def test_thread_token_claims_decide_for_their_thread_only(is_mine, can_watch, may_write, thread, ids):
    claims = ThreadClaims(ids[0], ids[1], 7, is_mine, can_watch, may_write, NOW + timedelta(hours=2))
    g = grants_from_thread_claims(claims, thread.key)
    if ids != (KEY.item_id, KEY.participant_id):
        assert not can_read(g, thread, NOW) and not can_write(g, thread)
        return
    assert can_read(g, thread, NOW)
    assert can_write(g, thread) == (may_write and thread.is_open)


def test_restating_the_current_status_waives_only_the_status_check():
    """A reader-only user may restate the status, but cannot carry other changes in on it: that
    let anyone who views the item move an open thread's helper group or reset its count."""
    viewer = Grants(can_view=ViewLevel.CONTENT, can_watch=WatchLevel.ANSWER)  # reads, may not write
    thread = Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 3, 2, NOW)
    check_update(viewer, thread, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER), NOW)
    for smuggled in (
        ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, message_count_increment=1),
        ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, message_count=0),
        ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=200),
        ThreadUpdate(message_count_increment=1),
    ):
        with pytest.raises(Forbidden):
            check_update(viewer, thread, smuggled, NOW)
    participant = Grants(can_view=ViewLevel.CONTENT, is_participant=True, can_request_help_to=False)
    with pytest.raises(InvalidRequest):  # a new helper group must be one the participant may ask
        check_update(participant, thread, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=200),
                     NOW)


@pytest.mark.parametrize("status", [ThreadStatus.NOT_STARTED, ThreadStatus.WAITING_FOR_TRAINER, ThreadStatus.CLOSED])
def test_a_user_who_may_not_read_the_thread_gets_403_before_the_body_is_checked(status):
    """Issue 11, defect 9: restating the status (200) or an opening without a group (400) told the status."""
    viewer = Grants(can_view=ViewLevel.CONTENT, can_watch=WatchLevel.RESULT)
    thread = Thread.not_started(KEY) if status == ThreadStatus.NOT_STARTED else Thread(KEY, status, 3, 2, NOW)
    for update in (
        ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER),
        ThreadUpdate(status=ThreadStatus.CLOSED),
        ThreadUpdate(status=ThreadStatus.CLOSED, helper_group_id=3),
        ThreadUpdate(),
    ):
        with pytest.raises(Forbidden):
            check_update(viewer, thread, update, NOW)
