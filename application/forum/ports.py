"""Ports of the forum context. Adapters in adapters/{memory,sql,dynamodb}/forum implement them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.shared import Publication
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from domain.forum.policy import Grants


@dataclass(frozen=True)
class ReadableThreads:
    """A superset of the threads one user may read (DESIGN.md §2.1), said with thread columns only.

    A thread is in it when its participant is one of `participant_ids` (the user's groups), or its
    item is one of `item_ids` (watched at answer level), or its item is one of `helped_item_ids`
    (watched at result level and validated) while its helper group is one of `helper_group_ids` and
    it is open or was updated after `helped_since`; or its key is one of `keys` (a thread token).
    The memory and SQL stores filter with it in the query, so a list never reads the rows a user
    may not see. A store that cannot (DynamoDB: its thread indexes are by participant and by helper
    group) may return more; the policy decides on each row that comes back either way.
    """

    participant_ids: frozenset[int] = frozenset()
    item_ids: frozenset[int] = frozenset()
    helped_item_ids: frozenset[int] = frozenset()
    helper_group_ids: frozenset[int] = frozenset()
    helped_since: datetime | None = None
    keys: frozenset[ThreadKey] = frozenset()

    @property
    def is_empty(self) -> bool:
        helped = self.helped_item_ids and self.helper_group_ids
        return not (self.participant_ids or self.item_ids or helped or self.keys)

    def includes(self, thread: Thread) -> bool:
        key = thread.key
        if key.participant_id in self.participant_ids or key.item_id in self.item_ids or key in self.keys:
            return True
        if key.item_id not in self.helped_item_ids or thread.helper_group_id not in self.helper_group_ids:
            return False
        latest = thread.latest_update_at
        return thread.is_open or (self.helped_since is not None and latest is not None and latest > self.helped_since)


@dataclass(frozen=True)
class ThreadListQuery:
    """Threads ordered by latest_update_at descending, then key descending, resumed after `after`.

    Exactly one of `participant_ids` / `helper_group_id` selects the threads; `readable`, when
    given, keeps only those it includes.
    """

    participant_ids: tuple[int, ...] | None = None
    helper_group_id: int | None = None
    item_id: int | None = None
    status: ThreadStatus | None = None
    latest_update_gt: datetime | None = None
    after: tuple[datetime, ThreadKey] | None = None
    limit: int = 20
    readable: ReadableThreads | None = None


class ThreadRepository(Protocol):
    def get(self, key: ThreadKey) -> Thread | None: ...

    def save(self, thread: Thread) -> None: ...

    def list(self, query: ThreadListQuery) -> list[Thread]: ...


class MessageUuidTaken(Exception):
    """Raised by `EventStore.append` when the thread already has a message with this uuid."""


class EventStore(Protocol):
    """Append-only, totally ordered per thread. Sequence numbers start at 1 and have no gaps."""

    def append(self, event: ThreadEvent) -> StoredEvent: ...

    def after(self, key: ThreadKey, after_seq: int, limit: int) -> list[StoredEvent]:
        """Events with seq > after_seq, oldest first."""
        ...

    def before(
        self, key: ThreadKey, before_seq: int | None, limit: int, types: frozenset[EventType] | None = None
    ) -> list[StoredEvent]:
        """Events with seq < before_seq (or the newest when None), newest first."""
        ...

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None: ...

    def replace_message(self, event: StoredEvent) -> None:
        """Store the current state of a message (edited text, deletion) in place of the old one."""
        ...


@dataclass(frozen=True)
class Follow:
    key: ThreadKey
    user_id: int
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class FollowStore(Protocol):
    def get(self, key: ThreadKey, user_id: int) -> Follow | None: ...

    def put(self, follow: Follow) -> None: ...

    def delete(self, key: ThreadKey, user_id: int) -> None: ...

    def of_thread(self, key: ThreadKey) -> list[Follow]: ...

    def others_follow(self, key: ThreadKey, user_id: int | None) -> bool | None:
        """Whether anyone besides `user_id` follows the thread (expired follows may count), if the
        store knows it without another request (from `prefetch_post`); else None."""
        ...


@dataclass(frozen=True)
class ReadMarker:
    """How far a user has read a thread: the message count they had seen, and the last cursor."""

    key: ThreadKey
    user_id: int
    seen_message_count: int
    last_seq: int


class ReadMarkerStore(Protocol):
    def get(self, key: ThreadKey, user_id: int) -> ReadMarker | None: ...

    def put(self, marker: ReadMarker) -> None: ...


class EventAlreadyApplied(Exception):
    """Raised at commit by a store that learns only then that another writer claimed the same id."""


class ReceivedEventStore(Protocol):
    """Ids of the events other systems sent (AlgoREA's EventBridge envelope ids), for idempotency.

    `claim` is part of the unit of work's transaction: True the first time an id is seen (a
    rollback gives the id back), False when a committed unit already claimed it. A store that can
    only tell at commit raises EventAlreadyApplied from `commit` instead.
    """

    def claim(self, event_id: str) -> bool: ...


class Permissions(Protocol):
    """The grants of one user on one thread (DESIGN.md §2.1), from Parley's tables or AlgoREA tokens."""

    def grants(
        self, user_id: int, key: ThreadKey, helper_group_id: int | None, requested_helper_group_id: int | None = None
    ) -> Grants: ...

    def user_group_ids(self, user_id: int) -> tuple[int, ...]:
        """The user's own group and every team they belong to (for 'threads that are mine')."""
        ...

    def group_and_descendants(self, group_id: int) -> tuple[int, ...]:
        """A group and every group under it (for 'threads of the groups I watch')."""
        ...

    def readable_threads(self, user_id: int, now: datetime) -> ReadableThreads:
        """Which threads the user may possibly read, for filtering a thread list in its query."""
        ...

    # False where the grants are a token's issuer's decision (AlgoREA thread tokens): nobody's right to
    # read can be asked afterwards, so a follower's notifications are not filtered by it.
    judges_readers: bool


class ForumUnitOfWork(Protocol):
    threads: ThreadRepository
    events: EventStore
    follows: FollowStore
    read_markers: ReadMarkerStore
    received_events: ReceivedEventStore

    def __enter__(self) -> ForumUnitOfWork: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def prefetch_post(self, key: ThreadKey, uuid: str, user_id: int) -> None:
        """A hint before posting `uuid`: read at once what the post will then ask for (the thread,
        for writing; the message stored under `uuid`; `user_id`'s follow), so that a backend can
        answer those reads from one request. Reads that follow are answered from it; a backend
        may also do nothing here."""
        ...

    def queue(self, publication: Publication) -> None:
        """Queue a publication for live delivery once (and only if) the transaction commits."""
        ...

    def record(self, event: object) -> None:
        """Record a domain event: the message bus runs its handlers once (and only if) this commits."""
        ...
