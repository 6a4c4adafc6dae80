"""The forum store backends the contract suite runs against.

Each entry makes a fresh, empty store for one test and returns a unit-of-work factory. Backends
that need a real server get it from the session fixtures in tests/support.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.forum.ports import ForumUnitOfWork

UowFactory = Callable[[], ForumUnitOfWork]


def memory_backend(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> UowFactory:
    state = MemoryForumState()
    return lambda: MemoryForumUnitOfWork(state, notifier)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, InProcessNotifier], UowFactory]] = {
    "memory": memory_backend,
}
