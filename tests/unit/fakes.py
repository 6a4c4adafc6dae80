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
