"""What every forum use case needs, gathered so the container builds it once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from application.delivery.notifications import NotificationStore, NullNotificationStore
from application.delivery.subscriptions import NullSubscriptionStore, SubscriptionStore
from application.forum.grant_facts import grants_from_thread_claims
from application.forum.ports import ForumUnitOfWork, Permissions, ThreadRepository
from application.forum.thread_token import NoThreadTokens, ThreadTokenIssuer
from application.shared import Actor, Clock, Notifier, NullNotifier
from domain.forum.model import Thread, ThreadKey
from domain.forum.policy import NO_GRANTS, Grants, can_read, can_read_in_any_state
from domain.shared import Forbidden


@dataclass(frozen=True)
class ForumDeps:
    """No field is optional: a part that is switched off is a null object, so use cases never check.

    `read_uow` serves the use cases that only read (stores may then skip write locks); where a
    backend has no such mode it is the same factory as `uow`.
    """

    uow: Callable[[], ForumUnitOfWork]
    read_uow: Callable[[], ForumUnitOfWork] = field(kw_only=True)
    permissions: Permissions
    clock: Clock
    thread_tokens: ThreadTokenIssuer = NoThreadTokens()
    # Live side: who watches which thread, and where followers' notifications go.
    subscriptions: SubscriptionStore = NullSubscriptionStore()
    notifications: NotificationStore = NullNotificationStore()
    notifier: Notifier = NullNotifier()

    def reader(self) -> ForumUnitOfWork:
        return self.read_uow()

    def now(self) -> datetime:
        return self.clock.now()


def load_thread(threads: ThreadRepository, key: ThreadKey) -> Thread:
    """Every (item, participant) pair has a thread, if only a not_started one with no stored row."""
    return threads.get(key) or Thread.not_started(key)


def user_grants(deps: ForumDeps, actor: Actor, thread: Thread, requested_helper: int | None = None) -> Grants:
    """The same rules whatever the credential; a thread token only ever speaks for its own thread."""
    if actor.user_id is None:
        raise Forbidden()
    claims = actor.thread_claims
    if claims is None or not claims.decided_by_issuer:
        if claims is not None and not claims.covers(thread.key.item_id, thread.key.participant_id):
            return NO_GRANTS
        return deps.permissions.grants(actor.user_id, thread.key, thread.helper_group_id, requested_helper)
    grants = grants_from_thread_claims(claims, thread.key)
    if requested_helper is not None and grants.is_participant:
        # The token carries no request-help facts: the permissions port decides them, as for a JWT.
        asked = deps.permissions.grants(actor.user_id, thread.key, thread.helper_group_id, requested_helper)
        grants = replace(grants, can_request_help_to=asked.can_request_help_to)
    return grants


def require_read(deps: ForumDeps, actor: Actor, thread: Thread) -> Grants:
    grants = user_grants(deps, actor, thread)
    if not can_read(grants, thread, deps.now()):
        raise Forbidden()
    return grants


def require_read_of(deps: ForumDeps, actor: Actor, threads: ThreadRepository, key: ThreadKey) -> None:
    """`require_read` for a reader that needs nothing else from the thread (a page of its history).

    The grants are looked up on every request. Only the helper-group rule depends on the thread's
    state (its helper group, status and closing time), so the thread is read only when the grants
    that do not depend on it are not enough (issue 20: a page is then the page's query alone).
    """
    if can_read_in_any_state(user_grants(deps, actor, Thread.not_started(key))):
        return
    require_read(deps, actor, load_thread(threads, key))
