"""What every live-questions use case needs, built once by the container's live sub-container."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from application.live.ports import LiveUnitOfWork, NoScheduler, Scheduler
from application.shared import Clock


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class LiveDeps:
    uow: Callable[[], LiveUnitOfWork]
    clock: Clock
    scheduler: Scheduler = field(default_factory=NoScheduler)
    # For reads only: on SQL they take no write lock (None: the same as `uow`).
    read_uow: Callable[[], LiveUnitOfWork] | None = None
    new_id: Callable[[], str] = _new_id

    def reader(self) -> LiveUnitOfWork:
        return (self.read_uow or self.uow)()

    def now(self) -> datetime:
        return self.clock.now()
