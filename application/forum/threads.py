"""Use cases on threads: read one, update it (status machine + rights), list them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from application.forum.deps import ForumDeps, load_thread, require_read, user_grants
from application.forum.follows import on_status_change
from application.forum.history import require_service
from application.forum.ports import EventAlreadyApplied, ForumUnitOfWork, ReadableThreads, ThreadListQuery
from application.forum.thread_token import thread_claims_for
from application.forum.topics import access_check_publication, event_publication
from application.shared import Actor
from domain.forum.events import status_events
from domain.forum.model import Thread, ThreadKey, ThreadStatus, ThreadUpdate
from domain.forum.policy import Grants, can_read, can_write, check_update
from domain.shared import InvalidRequest

LIST_BATCH = 50
# Rows a thread list examines at most per request (docs/operations.md, limits).
LIST_SCAN_LIMIT = 500


@dataclass(frozen=True)
class ThreadView:
    """A thread as one user sees it."""

    thread: Thread
    can_write: bool
    unread_count: int | None = None
    token: str | None = None
    # False when the user changed a thread they may not read (setting its current status again):
    # they get the outcome, not the thread's details.
    visible: bool = True


def get_thread(deps: ForumDeps, actor: Actor, key: ThreadKey) -> ThreadView:
    with deps.reader() as uow:
        thread = load_thread(uow.threads, key)
        grants = require_read(deps, actor, thread)
        view = _view(uow, actor, thread, grants)
    return replace(view, token=_thread_token(deps, actor, thread, grants))


def check_may_update(deps: ForumDeps, actor: Actor, key: ThreadKey) -> None:
    """Step 1 of a thread update on its own (may read the thread), for callers that must refuse
    before reading the body."""
    with deps.reader() as uow:
        require_read(deps, actor, load_thread(uow.threads, key))


def update_thread(deps: ForumDeps, actor: Actor, key: ThreadKey, update: ThreadUpdate) -> ThreadView:
    now = deps.now()
    with deps.uow() as uow:
        thread = load_thread(uow.threads, key)
        grants = user_grants(deps, actor, thread, update.helper_group_id)
        check_update(grants, thread, update, now)
        updated, change = thread.apply(update, now)
        uow.threads.save(updated)
        for event in status_events(key, actor.user_id, change.before, change.after, now):
            uow.queue(event_publication(uow.events.append(event)))
        on_status_change(uow, change, key, actor.user_id, now)
        if updated.helper_group_id != thread.helper_group_id and not change.changed:  # status events re-check too
            uow.queue(access_check_publication(key))
        uow.commit()
    if not can_read(grants, updated, now):
        return ThreadView(updated, False, visible=False)
    return ThreadView(updated, can_write(grants, updated), token=_thread_token(deps, actor, updated, grants))


def apply_status_change(
    deps: ForumDeps,
    actor: Actor,
    key: ThreadKey,
    status: ThreadStatus,
    helper_group_id: int | None,
    by_user_id: int,
    received_id: str | None = None,
) -> bool:
    """A status change another system already decided (AlgoREA's backend, with its own rules): the
    service records it as the thread's new state, with the same events and follows as an update.

    Only a service may (the forum:events scope); the body rules still hold (a helper group to open,
    none to close). With `received_id`, a repeated delivery changes nothing; returns whether
    this call applied it.
    """
    require_service(actor)
    update = ThreadUpdate(status=status, helper_group_id=None if status == ThreadStatus.CLOSED else helper_group_id)
    now = deps.now()
    try:
        with deps.uow() as uow:
            if received_id is not None and not uow.received_events.claim(received_id):
                return False
            thread = load_thread(uow.threads, key)
            updated, change = thread.apply(update, now)
            if updated != thread:
                uow.threads.save(updated)
            for event in status_events(key, by_user_id, change.before, change.after, now):
                uow.queue(event_publication(uow.events.append(event)))
            on_status_change(uow, change, key, by_user_id, now)
            if updated.helper_group_id != thread.helper_group_id and not change.changed:
                uow.queue(access_check_publication(key))
            uow.commit()
    except EventAlreadyApplied:
        return False
    return True


def _thread_token(deps: ForumDeps, actor: Actor, thread: Thread, grants: Grants) -> str | None:
    """Signed after the unit of work ends: signing takes a while and needs no lock."""
    return deps.thread_tokens.issue(thread_claims_for(actor, thread, grants, deps.now()))


@dataclass(frozen=True)
class ThreadSelection:
    """Which threads to list: exactly one of the three ways AlgoREA's thread list offers."""

    is_mine: bool = False
    watched_group_id: int | None = None
    helper_group_id: int | None = None
    # AlgoREA's is_mine=0: the threads the user may read whose participant is not the user.
    others: bool = False

    def validate(self) -> None:
        chosen = sum([self.is_mine, self.watched_group_id is not None, self.helper_group_id is not None, self.others])
        if chosen != 1:
            raise InvalidRequest(
                "choose which threads to list",
                {"is_mine": ["give exactly one of is_mine=1, watched_group_id, helper_group_id"]},
            )


@dataclass(frozen=True)
class ThreadFilters:
    item_id: int | None = None
    status: ThreadStatus | None = None
    latest_update_gt: datetime | None = None


def list_threads(
    deps: ForumDeps,
    actor: Actor,
    selection: ThreadSelection,
    filters: ThreadFilters,
    limit: int,
    after: tuple[datetime, ThreadKey] | None = None,
) -> list[ThreadView]:
    """Threads the user may read, newest update first, resumed after a keyset position.

    The store filters by what the user may read in its query (`ReadableThreads`), so a list costs
    what its page costs, not what the user may not see (issue 11). The policy still decides on
    every row, and at most LIST_SCAN_LIMIT rows are examined: a page is short only at the end of
    the list, or when that many rows in a row were unreadable (a store that cannot filter).
    """
    selection.validate()
    now = deps.now()
    readable = _readable(deps, actor, now)
    if readable.is_empty:
        return []
    query = ThreadListQuery(
        participant_ids=_participants(deps, actor, selection),
        helper_group_id=selection.helper_group_id,
        item_id=filters.item_id,
        status=filters.status,
        latest_update_gt=filters.latest_update_gt,
        after=after,
        limit=max(limit, LIST_BATCH),
        readable=readable,
    )
    views: list[ThreadView] = []
    scanned = 0
    with deps.reader() as uow:
        while len(views) < limit and scanned < LIST_SCAN_LIMIT:
            batch = uow.threads.list(query)
            for thread in batch:
                scanned += 1
                if selection.others and thread.key.participant_id == actor.user_id:
                    continue
                grants = user_grants(deps, actor, thread)
                if can_read(grants, thread, now):
                    views.append(_view(uow, actor, thread, grants))
                    if len(views) == limit:
                        break
            if len(batch) < query.limit:
                break
            last = batch[-1]
            query = replace(query, after=(last.latest_update_at, last.key))
    return views


def thread_position(deps: ForumDeps, actor: Actor, key: ThreadKey) -> tuple[datetime, ThreadKey] | None:
    """Where a thread the user may read stands in the lists' order (None: it has no row), to resume
    a list after it."""
    with deps.reader() as uow:
        thread = load_thread(uow.threads, key)
        require_read(deps, actor, thread)
    return None if thread.latest_update_at is None else (thread.latest_update_at, key)


def _readable(deps: ForumDeps, actor: Actor, now: datetime) -> ReadableThreads:
    if actor.user_id is None:
        return ReadableThreads()
    if actor.thread_claims is not None:
        # A thread token is the credential for its one thread (user_grants decides from its claims).
        claims = actor.thread_claims
        return ReadableThreads(keys=frozenset({ThreadKey(claims.item_id, claims.participant_id)}))
    return deps.permissions.readable_threads(actor.user_id, now)


def _participants(deps: ForumDeps, actor: Actor, selection: ThreadSelection) -> tuple[int, ...] | None:
    if actor.user_id is None:
        return ()
    if selection.is_mine:
        return deps.permissions.user_group_ids(actor.user_id)
    if selection.watched_group_id is not None:
        return deps.permissions.group_and_descendants(selection.watched_group_id)
    return None


def _view(uow: ForumUnitOfWork, actor: Actor, thread: Thread, grants: Grants) -> ThreadView:
    unread = None
    if actor.user_id is not None and thread.status != ThreadStatus.NOT_STARTED:
        marker = uow.read_markers.get(thread.key, actor.user_id)
        seen = marker.seen_message_count if marker else 0
        unread = max(thread.message_count - seen, 0)
    return ThreadView(thread, can_write(grants, thread), unread)
