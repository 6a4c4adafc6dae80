"""The Thread aggregate and its status machine (DESIGN.md §2.1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.shared import InvalidRequest

FOLLOW_EXPIRY_AFTER_CLOSE = timedelta(weeks=2)
RECENTLY_CLOSED = timedelta(weeks=2)
MAX_MESSAGE_COUNT = 2**31 - 1  # stored in a 32-bit column


class ThreadStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    WAITING_FOR_PARTICIPANT = "waiting_for_participant"
    WAITING_FOR_TRAINER = "waiting_for_trainer"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in (ThreadStatus.WAITING_FOR_PARTICIPANT, ThreadStatus.WAITING_FOR_TRAINER)


STORED_STATUSES = frozenset(
    {ThreadStatus.WAITING_FOR_PARTICIPANT, ThreadStatus.WAITING_FOR_TRAINER, ThreadStatus.CLOSED}
)


@dataclass(frozen=True, order=True)
class ThreadKey:
    """A thread is identified by the item it is about and the participant (user or team) working on it."""

    item_id: int
    participant_id: int


@dataclass(frozen=True)
class ThreadUpdate:
    """The fields of a thread update request; None means 'not given'."""

    status: ThreadStatus | None = None
    helper_group_id: int | None = None
    message_count: int | None = None
    message_count_increment: int | None = None

    def carries_only_status(self) -> bool:
        return self.helper_group_id is None and self.message_count is None and self.message_count_increment is None

    def is_empty(self) -> bool:
        return all(
            v is None
            for v in (self.status, self.helper_group_id, self.message_count, self.message_count_increment)
        )


@dataclass(frozen=True)
class StatusChange:
    """What an accepted update did to the status, so the use case can record the right events."""

    before: ThreadStatus
    after: ThreadStatus

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def opened(self) -> bool:
        return self.after.is_open and not self.before.is_open

    @property
    def closed(self) -> bool:
        return self.after == ThreadStatus.CLOSED and self.before != ThreadStatus.CLOSED


@dataclass(frozen=True)
class Thread:
    key: ThreadKey
    status: ThreadStatus = ThreadStatus.NOT_STARTED
    helper_group_id: int | None = None
    message_count: int = 0
    latest_update_at: datetime | None = None

    @classmethod
    def not_started(cls, key: ThreadKey) -> Thread:
        return cls(key=key)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def closed_within(self, window: timedelta, now: datetime) -> bool:
        return (
            self.status == ThreadStatus.CLOSED
            and self.latest_update_at is not None
            and now - self.latest_update_at < window
        )

    def apply(self, update: ThreadUpdate, now: datetime) -> tuple[Thread, StatusChange]:
        """Return the updated thread. The update must have passed `validate_update` first."""
        validate_update(self, update)
        if update.status == self.status and update.carries_only_status():
            # Nothing changes, so nothing moves: bumping latest_update_at here would let anyone who
            # may restate a closed thread's status keep its two-week read window open forever.
            return self, StatusChange(self.status, self.status)
        if update.status is None and self.status == ThreadStatus.NOT_STARTED:
            # Not a body rule (DESIGN.md §2.1 step 2): the policy refuses it first, as a write to a
            # thread that is not open; this keeps the invariant "no stored row is not_started".
            raise InvalidRequest("status is required", {"status": ["required to start a thread"]})
        new_status = update.status or self.status
        helper = self.helper_group_id if update.helper_group_id is None else update.helper_group_id
        count = self.message_count
        if update.message_count is not None:
            count = update.message_count
        if update.message_count_increment is not None:
            count += update.message_count_increment
        updated = replace(
            self,
            status=new_status,
            helper_group_id=helper,
            message_count=min(max(count, 0), MAX_MESSAGE_COUNT),
            latest_update_at=now,
        )
        return updated, StatusChange(self.status, new_status)

    def with_message_posted(self, now: datetime) -> Thread:
        return replace(self, message_count=min(self.message_count + 1, MAX_MESSAGE_COUNT), latest_update_at=now)


def validate_update(thread: Thread, update: ThreadUpdate) -> None:
    """Body rules of a thread update (step 2 of DESIGN.md §2.1), each a field-level 400."""
    if update.is_empty():
        raise InvalidRequest("empty update", {"body": ["at least one field is required"]})
    if update.status is not None and update.status not in STORED_STATUSES:
        raise InvalidRequest(
            "invalid status", {"status": ["must be one of " + ", ".join(sorted(STORED_STATUSES))]}
        )
    if update.message_count is not None and update.message_count < 0:
        raise InvalidRequest("invalid message_count", {"message_count": ["must be >= 0"]})
    if update.message_count is not None and update.message_count_increment is not None:
        raise InvalidRequest(
            "conflicting fields",
            {"message_count": ["must not be given together with message_count_increment"]},
        )
    target = update.status or thread.status
    if target.is_open and not thread.is_open and update.helper_group_id is None:
        raise InvalidRequest(
            "helper_group_id is required", {"helper_group_id": ["required when opening a thread"]}
        )
    if target == ThreadStatus.CLOSED and update.helper_group_id is not None:
        raise InvalidRequest(
            "helper_group_id must not be given",
            {"helper_group_id": ["must not be given when the thread is closed"]},
        )
