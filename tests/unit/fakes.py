"""Fakes shared by the unit suite (no mocks of our own ports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import GrantTables, MemoryPermissions
from application.forum.deps import ForumDeps


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs) -> None:
        self.current += timedelta(**kwargs)


def make_forum(tables: GrantTables | None = None, clock: FakeClock | None = None):
    """A forum wired to in-memory adapters; returns (deps, state, notifier, tables, clock)."""
    state = MemoryForumState()
    notifier = InProcessNotifier()
    notifier.keep_history = True
    tables = tables or GrantTables()
    clock = clock or FakeClock()
    def uow():
        return MemoryForumUnitOfWork(state, notifier)

    deps = ForumDeps(uow, MemoryPermissions(tables), clock, read_uow=uow)
    return deps, state, notifier, tables, clock


def with_notifications(deps: ForumDeps, state: MemoryForumState, notifier: InProcessNotifier, runner=None):
    """The forum with delivery's stores and a message bus running the forum's handlers (inline by
    default), as the container wires them; returns (deps, bus)."""
    from dataclasses import replace

    from adapters.memory.delivery import MemoryNotificationStore, MemorySubscriptionStore
    from application.forum.handlers import handlers
    from application.messagebus import InlineRunner, MessageBus

    wired: list[ForumDeps] = []
    bus = MessageBus(handlers(lambda: wired[0]), runner or InlineRunner())
    deps = replace(
        deps,
        uow=lambda: MemoryForumUnitOfWork(state, notifier, bus=bus),
        subscriptions=MemorySubscriptionStore(),
        notifications=MemoryNotificationStore(),
        notifier=notifier,
    )
    wired.append(deps)
    return deps, bus
