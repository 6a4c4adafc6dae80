"""The memory stores' units of work: the store's lock held from begin to end serialises them, as a
database's write lock would, and a journal of changes makes a rollback exact.

Two journals, after how a store writes:
- `UndoLogUnitOfWork`: a change lands at once and records how to undo itself; a rollback runs the
  undos newest first (forum, chat).
- `StagedUnitOfWork`: a change is queued and lands only at commit, after the same checks the real
  stores make; a rollback drops the queue (dm, live questions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from application.messagebus import MessageBus
from application.shared import Notifier
from application.unit_of_work import UnitOfWorkBase

Change = Callable[[], None]


class MemoryUnitOfWork(UnitOfWorkBase):
    """Holds `lock` from begin to end. The stores of the unit append to `_journal` (the same list
    for the unit's whole life); a subclass says what commit and rollback do with it."""

    def __init__(self, lock: threading.RLock, notifier: Notifier, bus: MessageBus | None = None):
        super().__init__(notifier, bus)
        self._lock = lock
        self._journal: list[Change] = []

    def _begin(self) -> None:
        self._lock.acquire()
        self._journal.clear()

    def _end(self) -> None:
        self._lock.release()


class UndoLogUnitOfWork(MemoryUnitOfWork):
    """The journal holds undos: committing forgets them, rolling back runs them newest first."""

    def _commit(self) -> None:
        self._journal.clear()

    def _rollback(self) -> None:
        while self._journal:
            self._journal.pop()()


class StagedUnitOfWork(MemoryUnitOfWork):
    """The journal holds writes not yet made: committing makes them in order, rolling back drops them."""

    def _commit(self) -> None:
        for write in self._journal:
            write()
        self._journal.clear()

    def _rollback(self) -> None:
        self._journal.clear()
