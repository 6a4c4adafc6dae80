"""Ports of the dm context: the users directory and the conversations store, inside one unit of work.

Writes are optimistic: a store refuses a write made from a state that moved (GroupChanged) and the
use case starts again from a fresh read; on DynamoDB the refusal comes at commit, when the buffered
TransactWriteItems is cancelled, on SQL at once. Either way nothing of the refused write is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.shared import Clock, Notifier, Publication
from domain.dm.model import Group, Message, Profile, Summary
from domain.shared import Conflict, DomainError

MAX_PAGE = 100
DEFAULT_PAGE = 20


class GroupChanged(DomainError):
    """Another writer changed the group (or created the pair's group) first: read again and retry."""

    code = "group_changed"


class TimeTaken(DomainError):
    """A member already has a summary at that time (another group, same millisecond): use a later one."""

    code = "time_taken"


class HandleTaken(Conflict):
    code = "handle_taken"

    def __init__(self) -> None:
        super().__init__("that handle belongs to another user", {"handle": ["handle_taken"]})


class ProfileChanged(DomainError):
    """The directory entry changed since it was read (two PUT /dm/me at once): read again and retry."""

    code = "profile_changed"


class Directory(Protocol):
    def by_user(self, user_id: int) -> Profile | None: ...

    def by_handle(self, handle: str) -> Profile | None: ...

    def by_uuid(self, user_uuid: str) -> Profile | None: ...

    def save(self, profile: Profile, previous: Profile | None) -> None:
        """Create or change an entry; HandleTaken when another user has the handle, ProfileChanged
        when `previous` is not what is stored any more."""


class Conversations(Protocol):
    def group(self, group_uuid: str) -> Group | None: ...

    def group_of_pair(self, a_uuid: str, b_uuid: str) -> Group | None: ...

    def record(
        self, group: Group, previous: Group | None, message: Message | None, summaries: tuple[Summary, Summary]
    ) -> None:
        """Atomically with the commit: store `message` (None: it is stored already), create the group
        (`previous` None) or move it from `previous`, and replace both members' summaries by
        `summaries` (at `group.last_message_at`). GroupChanged when `previous` is stale or the pair
        has a group already; TimeTaken when a member has another summary at that time."""

    def mark_read(self, group: Group, previous: Group, owner_uuid: str) -> None:
        """Store the group's unread counts as `group` has them (the owner's is 0), from `previous`."""

    def messages_before(self, group_uuid: str, before: datetime | None, limit: int) -> list[Message]:
        """Newest first, strictly before `before` (None: from the newest)."""

    def messages_after(self, group_uuid: str, after: datetime, limit: int) -> list[Message]:
        """Oldest first, strictly after `after`."""

    def summaries(self, owner_uuid: str, before: datetime | None, limit: int) -> list[Summary]:
        """The owner's groups by most recent activity, strictly before `before`."""


class DmUnitOfWork(Protocol):
    users: Directory
    groups: Conversations

    def __enter__(self) -> DmUnitOfWork: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...

    def queue(self, publication: Publication) -> None: ...


@dataclass
class DmDeps:
    uow: Callable[[], DmUnitOfWork]
    clock: Clock
    # Units of work that only read (no write lock on SQL); the writing one when not given.
    read_uow: Callable[[], DmUnitOfWork] | None = None
    notifier: Notifier | None = None

    def reader(self) -> DmUnitOfWork:
        return (self.read_uow or self.uow)()

    def now(self) -> datetime:
        return self.clock.now()
