"""Direct messages: the users directory, message groups of two users, messages and group summaries.

Every rule that does not need a store is here: what a handle, a display name and a message text
may be (every failing field reported at once), who belongs to a group, and the time a new message
takes in its group (strictly after the group's newest one, so a group's messages are totally
ordered by `created_at` and two never share a key).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.shared import InvalidValue, NotFound, utc

MAX_MESSAGE_CHARS = 1024
MAX_DISPLAY_NAME_CHARS = 64
HANDLE_PATTERN = re.compile(r"[a-z0-9_]{2,32}")
ONE_MS = timedelta(milliseconds=1)

# Codes a client can rely on, one list per field of a 422 (DESIGN.md §2.3).
MESSAGE_BLANK = "message_blank"
MESSAGE_EXCEED_MAX_CHARS = "message_exceed_max_chars"
HANDLE_MISSING = "handle_missing"
HANDLE_UNKNOWN = "handle_unknown"
HANDLE_IS_YOURSELF = "handle_is_yourself"
HANDLE_INVALID = "handle_invalid"
HANDLE_TAKEN = "handle_taken"
DISPLAY_NAME_BLANK = "display_name_blank"
DISPLAY_NAME_TOO_LONG = "display_name_too_long"


class GroupNotFound(NotFound):
    """No such group, or the caller is not one of its two members: the same answer either way."""

    def __init__(self) -> None:
        super().__init__("no such message group")


class NoProfile(NotFound):
    """The caller has no entry in the users directory yet (PUT /dm/me makes one)."""

    def __init__(self) -> None:
        super().__init__("you have no directory entry yet: set your handle with PUT /dm/me")


def new_uuid() -> str:
    return str(uuid.uuid4())


def is_uuid(text: object) -> bool:
    if not isinstance(text, str) or len(text) != 36:
        return False
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


# -- the users directory --------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRef:
    """A user as a message or a summary shows them: uuid, handle and display name."""

    uuid: str
    handle: str
    display_name: str


@dataclass(frozen=True)
class Profile:
    """One directory entry: the Parley user (JWT subject), the uuid made once, handle and display name."""

    user_id: int
    uuid: str
    handle: str
    display_name: str

    @property
    def ref(self) -> UserRef:
        return UserRef(self.uuid, self.handle, self.display_name)


def normalize_handle(raw: object) -> str | None:
    """Handles are compared case-insensitively and stored lower-case; None when it is not one."""
    if not isinstance(raw, str):
        return None
    handle = raw.strip().removeprefix("@").lower()
    return handle if HANDLE_PATTERN.fullmatch(handle) else None


def profile_errors(handle: object, display_name: object) -> tuple[dict[str, list[str]], str | None, str | None]:
    """(errors by field, normalized handle, trimmed display name), every field checked."""
    errors: dict[str, list[str]] = {}
    normalized = normalize_handle(handle)
    if normalized is None:
        errors["handle"] = [HANDLE_INVALID]
    name = display_name.strip() if isinstance(display_name, str) else ""
    if not name:
        errors["display_name"] = [DISPLAY_NAME_BLANK]
    elif len(name) > MAX_DISPLAY_NAME_CHARS:
        errors["display_name"] = [DISPLAY_NAME_TOO_LONG]
    return errors, normalized, name or None


# -- messages -------------------------------------------------------------------------------------


def message_errors(text: object) -> tuple[list[str], str]:
    """The text's failures and the trimmed text: 1..MAX_MESSAGE_CHARS characters after trimming."""
    trimmed = text.strip() if isinstance(text, str) else ""
    if not trimmed:
        return [MESSAGE_BLANK], trimmed
    if len(trimmed) > MAX_MESSAGE_CHARS:
        return [MESSAGE_EXCEED_MAX_CHARS], trimmed
    return [], trimmed


def raise_if_any(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidValue("invalid direct message", {k: list(v) for k, v in sorted(errors.items())})


@dataclass(frozen=True)
class Message:
    group_uuid: str
    message_uuid: str
    created_at: datetime
    text: str
    sender: UserRef


@dataclass(frozen=True)
class Group:
    """A conversation of two users. `members` are their uuids in sorted order, `member_ids` their
    Parley user ids in the same order. `version` moves on every write, so a writer that read an
    older state loses its conditional write and starts again; `unread` counts, per member uuid, the
    messages the other sent since the member last read the group.
    """

    uuid: str
    members: tuple[str, str]
    member_ids: tuple[int, int]
    last_message_at: datetime | None = None
    version: int = 0
    unread: dict[str, int] = field(default_factory=dict, compare=False)

    def has_member(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.member_ids

    def other(self, member_uuid: str) -> str:
        a, b = self.members
        return b if member_uuid == a else a

    def next_time(self, now: datetime) -> datetime:
        """A new message's time: now, or just after the newest message when the clock is behind it."""
        now = utc(now)
        if self.last_message_at is not None and now <= self.last_message_at:
            return self.last_message_at + ONE_MS
        return now

    def after_message(self, sender_uuid: str, at: datetime) -> Group:
        """The group once a message of `sender_uuid` at `at` is its newest: the sender has read it all."""
        unread = {m: self.unread.get(m, 0) for m in self.members}
        unread[sender_uuid] = 0
        recipient = self.other(sender_uuid)
        unread[recipient] += 1
        return replace(self, last_message_at=at, version=self.version + 1, unread=unread)

    def after_read(self, member_uuid: str) -> Group:
        unread = {m: self.unread.get(m, 0) for m in self.members}
        unread[member_uuid] = 0
        return replace(self, version=self.version + 1, unread=unread)


def new_group(a: Profile, b: Profile) -> Group:
    first, second = sorted((a, b), key=lambda p: p.uuid)
    return Group(new_uuid(), (first.uuid, second.uuid), (first.user_id, second.user_id))


def pair_key(a_uuid: str, b_uuid: str) -> tuple[str, str]:
    first, second = sorted((a_uuid, b_uuid))
    return first, second


@dataclass(frozen=True)
class Summary:
    """One member's row for a group in their list: the other user, the last message, unread count."""

    owner_uuid: str
    group_uuid: str
    last_message_at: datetime
    last_message: str
    other: UserRef
    unread: int = 0


def summaries_after(group: Group, message: Message, profiles: dict[str, UserRef]) -> tuple[Summary, Summary]:
    """Both members' summaries once `message` is the group's newest (`group` already moved)."""
    rows = []
    for owner in group.members:
        other = profiles[group.other(owner)]
        rows.append(
            Summary(owner, group.uuid, message.created_at, message.text, other, group.unread.get(owner, 0))
        )
    return rows[0], rows[1]


# -- times as integers (cursors, DynamoDB sort keys) ------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=utc(datetime(1970, 1, 1)).tzinfo)


def epoch_ms(at: datetime) -> int:
    return (utc(at) - EPOCH) // ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    return EPOCH + ms * ONE_MS
