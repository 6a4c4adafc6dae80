"""What every forum use case needs, gathered so the container builds it once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from application.forum.grant_facts import grants_from_thread_claims
from application.forum.notifications import NotificationStore, SubscriptionStore
from application.forum.ports import ForumUnitOfWork, Permissions, ThreadRepository
from application.forum.thread_token import NoThreadTokens, ThreadTokenIssuer
from application.shared import Actor, Clock, Notifier
from domain.forum.model import Thread, ThreadKey
from domain.forum.policy import Grants, can_read
from domain.shared import Forbidden


@dataclass(frozen=True)
class ForumDeps:
    uow: Callable[[], ForumUnitOfWork]
    permissions: Permissions
    clock: Clock
    thread_tokens: ThreadTokenIssuer = NoThreadTokens()
    # Live side: who watches which thread, and where followers' notifications go (None: off).
    subscriptions: SubscriptionStore | None = None
    notifications: NotificationStore | None = None
    notifier: Notifier | None = None
    # For use cases that only read: stores may then skip write locks (None: the same as `uow`).
    read_uow: Callable[[], ForumUnitOfWork] | None = None

    def reader(self) -> ForumUnitOfWork:
        return (self.read_uow or self.uow)()

    def now(self) -> datetime:
        return self.clock.now()


def load_thread(threads: ThreadRepository, key: ThreadKey) -> Thread:
    """Every (item, participant) pair has a thread, if only a not_started one with no stored row."""
    return threads.get(key) or Thread.not_started(key)


def user_grants(deps: ForumDeps, actor: Actor, thread: Thread, requested_helper: int | None = None) -> Grants:
    if actor.user_id is None:
        raise Forbidden()
    if actor.thread_claims is not None:
        # A thread token is the credential: its issuer decided, and the tables are not asked.
        return grants_from_thread_claims(actor.thread_claims, thread.key)
    return deps.permissions.grants(actor.user_id, thread.key, thread.helper_group_id, requested_helper)


def require_read(deps: ForumDeps, actor: Actor, thread: Thread) -> Grants:
    grants = user_grants(deps, actor, thread)
    if not can_read(grants, thread, deps.now()):
        raise Forbidden()
    return grants
