"""Thread events: the append-only history of a thread, ordered per thread (DESIGN.md §2.1)."""

from __future__ import annotations

import enum
import re
import uuid as uuid_module
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from domain.forum.model import ThreadKey, ThreadStatus
from domain.shared import Cursor, InvalidValue, rfc3339

MAX_MESSAGE_CHARS = 4000
MAX_UUID_CHARS = 64
# Kept with a message so a retried post can be recognised after an edit; never shown to clients.
PRIVATE_FIELDS = frozenset({"original_text"})
# URL-safe, so that every message can be addressed as …/messages/{uuid} to edit or delete it.
UUID_PATTERN = re.compile(r"[A-Za-z0-9._~-]{1," + str(MAX_UUID_CHARS) + "}")
# NUL and lone surrogates cannot be stored by SQL databases; no real text needs them.
UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")


class EventType(enum.StrEnum):
    THREAD_OPENED = "thread_opened"
    THREAD_CLOSED = "thread_closed"
    STATUS_CHANGED = "status_changed"
    ATTEMPT_STARTED = "attempt_started"
    SUBMISSION = "submission"
    GRADE_UPDATED = "grade_updated"
    MESSAGE = "message"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"


TASK_EVENT_TYPES = frozenset({EventType.ATTEMPT_STARTED, EventType.SUBMISSION, EventType.GRADE_UPDATED})


@dataclass(frozen=True)
class ThreadEvent:
    """An event not yet stored; the store gives it its cursor.

    `data` holds the type-specific fields (text, uuid, attempt_id, ...), all JSON-friendly.
    """

    key: ThreadKey
    type: EventType
    time: datetime
    user_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def stored(self, seq: int) -> StoredEvent:
        return StoredEvent(self.key, self.type, self.time, self.user_id, dict(self.data), seq)


@dataclass(frozen=True)
class StoredEvent(ThreadEvent):
    seq: int = 0

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.seq)

    @property
    def message_uuid(self) -> str | None:
        return self.data.get("uuid")

    def with_data(self, **changes: Any) -> StoredEvent:
        return replace(self, data={**self.data, **changes})

    def to_public(self) -> dict[str, Any]:
        """The JSON shape clients see: {cursor, type, time, user_id, ...type fields}."""
        body: dict[str, Any] = {
            "cursor": self.cursor.encode(),
            "type": str(self.type),
            "time": rfc3339(self.time),
            "user_id": None if self.user_id is None else str(self.user_id),
            "item_id": str(self.key.item_id),
            "participant_id": str(self.key.participant_id),
        }
        for name, value in self.data.items():
            if name in PRIVATE_FIELDS:
                continue
            body[name] = str(value) if name.endswith("_id") and value is not None else value
        return body


def clean_message_text(text: str) -> str:
    """Messages are 1..4,000 characters after trimming; the trimmed text is what gets stored."""
    trimmed = text.strip()
    if UNSTORABLE_CHARS.search(trimmed):
        raise InvalidValue("message has invalid characters", {"text": ["must not contain NUL or lone surrogates"]})
    if not trimmed:
        raise InvalidValue("message is blank", {"text": ["must not be blank"]})
    if len(trimmed) > MAX_MESSAGE_CHARS:
        raise InvalidValue(
            "message too long", {"text": [f"must be at most {MAX_MESSAGE_CHARS} characters"]}
        )
    return trimmed


def clean_message_uuid(value: str | None) -> str:
    """The client's idempotency key. Any non-blank token up to 64 characters; one is made if absent."""
    if value is None:
        return str(uuid_module.uuid4())
    if not UUID_PATTERN.fullmatch(value):
        raise InvalidValue(
            "invalid uuid", {"uuid": [f"must be 1..{MAX_UUID_CHARS} characters among A-Z a-z 0-9 . _ ~ -"]}
        )
    return value


def message_posted(key: ThreadKey, user_id: int, text: str, uuid: str, now: datetime) -> ThreadEvent:
    return ThreadEvent(key, EventType.MESSAGE, now, user_id, {"text": text, "uuid": uuid})


def message_edited(key: ThreadKey, user_id: int, uuid: str, text: str, now: datetime) -> ThreadEvent:
    return ThreadEvent(key, EventType.MESSAGE_EDITED, now, user_id, {"uuid": uuid, "text": text})


def message_deleted(key: ThreadKey, user_id: int, uuid: str, now: datetime) -> ThreadEvent:
    return ThreadEvent(key, EventType.MESSAGE_DELETED, now, user_id, {"uuid": uuid})


def status_events(
    key: ThreadKey, user_id: int, before: ThreadStatus, after: ThreadStatus, now: datetime
) -> list[ThreadEvent]:
    """Events recording a status change: opened / closed, or a switch between the two open statuses."""
    if before == after:
        return []
    if after.is_open and not before.is_open:
        return [ThreadEvent(key, EventType.THREAD_OPENED, now, user_id, {"status": str(after)})]
    if after == ThreadStatus.CLOSED:
        return [ThreadEvent(key, EventType.THREAD_CLOSED, now, user_id, {})]
    return [
        ThreadEvent(
            key, EventType.STATUS_CHANGED, now, user_id, {"from": str(before), "to": str(after)}
        )
    ]


def attempt_started(key: ThreadKey, attempt_id: int, now: datetime) -> ThreadEvent:
    return ThreadEvent(key, EventType.ATTEMPT_STARTED, now, None, {"attempt_id": attempt_id})


def submission(
    key: ThreadKey,
    attempt_id: int,
    answer_id: int,
    now: datetime,
    score: float | None = None,
    validated: bool | None = None,
) -> ThreadEvent:
    data: dict[str, Any] = {"attempt_id": attempt_id, "answer_id": answer_id}
    if score is not None:
        data["score"] = score
    if validated is not None:
        data["validated"] = validated
    return ThreadEvent(key, EventType.SUBMISSION, now, None, data)


def grade_updated(
    key: ThreadKey, attempt_id: int, answer_id: int, score: float, now: datetime, validated: bool | None = None
) -> ThreadEvent:
    data: dict[str, Any] = {"attempt_id": attempt_id, "answer_id": answer_id, "score": score}
    if validated is not None:
        data["validated"] = validated
    return ThreadEvent(key, EventType.GRADE_UPDATED, now, None, data)


@dataclass(frozen=True)
class MessagePosted:
    """Domain event recorded by a post that stored a new message (not by an idempotent retry)."""

    message: StoredEvent
    # Whether anyone besides the author followed the thread when the post committed; None: the
    # store could not tell without a request. False lets the followers' handler stop at once.
    others_follow: bool | None = None
