"""Follows: who keeps hearing about a thread, and for how long after it closes (DESIGN.md §2.1)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from application.forum.deps import ForumDeps, load_thread, require_read
from application.forum.ports import Follow, ForumUnitOfWork
from application.shared import Actor
from domain.forum.model import FOLLOW_EXPIRY_AFTER_CLOSE, StatusChange, Thread, ThreadKey, ThreadStatus
from domain.shared import Forbidden


@dataclass(frozen=True)
class FollowState:
    following: bool
    expires_at: datetime | None = None


def on_status_change(
    uow: ForumUnitOfWork, change: StatusChange, key: ThreadKey, opener_id: int | None, now: datetime
) -> None:
    """Opening makes the participant and the opener followers and lifts expiries; closing sets them."""
    if change.opened:
        for follow in uow.follows.of_thread(key):
            # Reopening lifts the expiry of follows still running; one that already ran out stays out.
            if follow.expires_at is not None and follow.active(now):
                uow.follows.put(replace(follow, expires_at=None))
        for user_id in {key.participant_id, opener_id} - {None}:
            uow.follows.put(Follow(key, user_id))
    elif change.closed:
        expiry = now + FOLLOW_EXPIRY_AFTER_CLOSE
        for follow in uow.follows.of_thread(key):
            if follow.active(now):
                uow.follows.put(replace(follow, expires_at=expiry))


def ensure_following(uow: ForumUnitOfWork, key: ThreadKey, user_id: int, now: datetime) -> None:
    current = uow.follows.get(key, user_id)
    if current is None or not current.active(now):
        uow.follows.put(Follow(key, user_id))


def get_follow(deps: ForumDeps, actor: Actor, key: ThreadKey) -> FollowState:
    with deps.reader() as uow:
        require_read(deps, actor, load_thread(uow.threads, key))
        follow = uow.follows.get(key, actor.user_id)
        if follow is None or not follow.active(deps.now()):
            return FollowState(False)
        return FollowState(True, follow.expires_at)


def follow_thread(deps: ForumDeps, actor: Actor, key: ThreadKey) -> FollowState:
    with deps.uow() as uow:
        thread = load_thread(uow.threads, key)
        require_read(deps, actor, thread)
        follow = Follow(key, actor.user_id, _expiry_for(thread))
        uow.follows.put(follow)
        uow.commit()
    return FollowState(True, follow.expires_at)


def _expiry_for(thread: Thread) -> datetime | None:
    """Following a closed thread lasts what the follows set at its closing do: two weeks from then."""
    if thread.status == ThreadStatus.CLOSED and thread.latest_update_at is not None:
        return thread.latest_update_at + FOLLOW_EXPIRY_AFTER_CLOSE
    return None


def unfollow_thread(deps: ForumDeps, actor: Actor, key: ThreadKey) -> FollowState:
    with deps.uow() as uow:
        require_read(deps, actor, load_thread(uow.threads, key))
        uow.follows.delete(key, actor.user_id)
        uow.commit()
    return FollowState(False)


def own_follow(deps: ForumDeps, actor: Actor, key: ThreadKey) -> FollowState:
    """Whether the user follows a thread, asked without the right to read it (AlgoREA's serverless
    asks with an identity token): it tells them only what they did themselves."""
    user_id = _own_user(actor, key)
    with deps.reader() as uow:
        follow = uow.follows.get(key, user_id)
    if follow is None or not follow.active(deps.now()):
        return FollowState(False)
    return FollowState(True, follow.expires_at)


def unfollow_own(deps: ForumDeps, actor: Actor, key: ThreadKey) -> FollowState:
    """Stop following without the right to read: one who lost it must still be able to stop hearing."""
    user_id = _own_user(actor, key)
    with deps.uow() as uow:
        uow.follows.delete(key, user_id)
        uow.commit()
    return FollowState(False)


def _own_user(actor: Actor, key: ThreadKey) -> int:
    """A user credential, or a thread token of this very thread: a thread token speaks for its own only."""
    claims = actor.thread_claims
    if actor.user_id is None or (claims is not None and not claims.covers(key.item_id, key.participant_id)):
        raise Forbidden("a thread token gives access to its own thread only")
    return actor.user_id
