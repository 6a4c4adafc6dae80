"""Rooms, memberships and comments, and the position that orders a room's comments.

A comment's position is its creation time, RFC 3339 in UTC to the millisecond (the sort key the
ChatSystem reference uses), made unique within its room by a tiebreak counter when several
comments land in the same millisecond: `2026-01-02T03:04:05.678Z`, then `…678Z~0001`, `…678Z~0002`.
Every position has the same 24-character timestamp prefix, so comparing the strings compares
(time, tiebreak): stores can sort and page on the string alone. As a `cursor` (what lists and live
events carry, opaque as everywhere in the API) a position is the shared kernel's Cursor of one
integer in the same order (`Position.to_seq`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.shared import Cursor, InvalidCursor, InvalidRequest, InvalidValue, rfc3339, utc

MAX_ROOM_ID_CHARS = 64
ROOM_ID_PATTERN = re.compile(r"[A-Za-z0-9._~-]{1,64}")
MAX_DISPLAY_NAME_CHARS = 100
MAX_COMMENT_CHARS = 2000
# NUL and lone surrogates cannot be stored by SQL databases; no real text needs them.
UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")

TIEBREAK_SEPARATOR = "~"
TIEBREAK_DIGITS = 4
MAX_TIEBREAK = 10**TIEBREAK_DIGITS - 1
ONE_MS = timedelta(milliseconds=1)
FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
POSITION_PATTERN = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)(?:" + TIEBREAK_SEPARATOR + r"(\d{4}))?"
)


def parse_room_id(raw: object, field_name: str = "room_id") -> str:
    """Room ids are chosen by their creator: 1..64 URL-safe characters (A-Z a-z 0-9 . _ ~ -)."""
    if not isinstance(raw, str) or not ROOM_ID_PATTERN.fullmatch(raw):
        raise InvalidRequest(
            "invalid room id",
            {field_name: [f"must be 1..{MAX_ROOM_ID_CHARS} characters among A-Z a-z 0-9 . _ ~ -"]},
        )
    return raw


def _clean_text(text: object, field_name: str, max_chars: int, what: str) -> str:
    if not isinstance(text, str):
        raise InvalidValue(f"{what} must be text", {field_name: ["must be a string"]})
    trimmed = text.strip()
    if UNSTORABLE_CHARS.search(trimmed):
        raise InvalidValue(f"{what} has invalid characters", {field_name: ["must not contain NUL or lone surrogates"]})
    if not trimmed:
        raise InvalidValue(f"{what} is blank", {field_name: ["must not be blank"]})
    if len(trimmed) > max_chars:
        raise InvalidValue(f"{what} too long", {field_name: [f"must be at most {max_chars} characters"]})
    return trimmed


def clean_comment_text(text: object) -> str:
    """Comments are 1..2,000 characters after trimming; the trimmed text is what gets stored."""
    return _clean_text(text, "text", MAX_COMMENT_CHARS, "comment")


def clean_display_name(name: object, room_id: str) -> str:
    """A room's display name: 1..100 characters after trimming; the room id when none is given."""
    if name is None:
        return room_id
    return _clean_text(name, "display_name", MAX_DISPLAY_NAME_CHARS, "display name")


@dataclass(frozen=True, order=True)
class Position:
    """Where a comment sits in its room: (creation millisecond, tiebreak within that millisecond)."""

    created_at: datetime
    tiebreak: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))
        if not 0 <= self.tiebreak <= MAX_TIEBREAK:
            raise ValueError(f"tiebreak out of range: {self.tiebreak}")

    def encode(self) -> str:
        stamp = rfc3339(self.created_at)
        if self.tiebreak == 0:
            return stamp
        return f"{stamp}{TIEBREAK_SEPARATOR}{self.tiebreak:0{TIEBREAK_DIGITS}d}"

    def __str__(self) -> str:
        return self.encode()

    @classmethod
    def decode(cls, raw: object, field_name: str = "position") -> Position:
        match = POSITION_PATTERN.fullmatch(raw) if isinstance(raw, str) else None
        if match is None:
            raise InvalidRequest(
                "malformed position",
                {field_name: ["must be a position as returned by this service, such as 2026-01-02T03:04:05.678Z"]},
            )
        try:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            raise InvalidRequest("malformed position", {field_name: ["not a valid date and time"]}) from None
        return cls(stamp, int(match.group(2) or 0))

    def next_for(self, now: datetime) -> Position:
        """The position to try after this one was taken: the next tiebreak in the same millisecond,
        or the first of `now`'s millisecond once the clock has moved on. Never earlier than this one,
        so one writer's comments keep their order."""
        now = utc(now)
        if now > self.created_at:
            return Position(now)
        if self.tiebreak >= MAX_TIEBREAK:
            raise PositionsExhausted(self.created_at)
        return Position(self.created_at, self.tiebreak + 1)


    def to_seq(self) -> int:
        """The position as one non-negative integer in the same order (milliseconds since
        0001-01-01 times 10,000, plus the tiebreak): what the shared kernel's opaque Cursor holds."""
        ms = (self.created_at - FIRST_INSTANT) // ONE_MS
        return ms * (MAX_TIEBREAK + 1) + self.tiebreak

    @classmethod
    def from_seq(cls, seq: int) -> Position:
        ms, tiebreak = divmod(seq, MAX_TIEBREAK + 1)
        try:
            return cls(FIRST_INSTANT + ms * ONE_MS, tiebreak)
        except OverflowError:
            raise InvalidCursor() from None

    def cursor(self) -> str:
        return Cursor(self.to_seq()).encode()

    @classmethod
    def from_cursor(cls, token: str, field_name: str = "cursor") -> Position:
        return cls.from_seq(Cursor.decode(token, field_name).seq)

    def previous(self) -> Position | None:
        """The position just before this one (positions are discrete, so `>= p` is `> p.previous()`);
        None for the first position there is (0001-01-01T00:00:00.000Z)."""
        if self.tiebreak > 0:
            return Position(self.created_at, self.tiebreak - 1)
        if self.created_at - FIRST_INSTANT < ONE_MS:
            return None
        return Position(self.created_at - ONE_MS, MAX_TIEBREAK)

    def following(self) -> Position | None:
        """The position just after this one (`> p` is `>= p.following()`); None for the last there is."""
        if self.tiebreak < MAX_TIEBREAK:
            return Position(self.created_at, self.tiebreak + 1)
        if datetime.max.replace(tzinfo=UTC) - self.created_at < ONE_MS:
            return None
        return Position(self.created_at + ONE_MS)


class PositionsExhausted(Exception):
    """Every tiebreak of one millisecond in one room is taken (10,000 comments in a millisecond)."""


@dataclass(frozen=True)
class Room:
    room_id: str
    display_name: str
    created_by: int
    created_at: datetime

    def is_creator(self, user_id: int | None) -> bool:
        return user_id is not None and user_id == self.created_by

    def to_public(self) -> dict[str, str]:
        return {
            "room_id": self.room_id,
            "display_name": self.display_name,
            "created_by": str(self.created_by),
            "created_at": rfc3339(self.created_at),
        }


@dataclass(frozen=True)
class Membership:
    room_id: str
    user_id: int
    joined_at: datetime

    def to_public(self) -> dict[str, str]:
        return {"room_id": self.room_id, "user_id": str(self.user_id), "joined_at": rfc3339(self.joined_at)}


@dataclass(frozen=True)
class Comment:
    room_id: str
    user_id: int
    text: str
    position: Position

    @property
    def created_at(self) -> datetime:
        return self.position.created_at

    def at(self, position: Position) -> Comment:
        return Comment(self.room_id, self.user_id, self.text, position)

    def to_public(self) -> dict[str, str]:
        position = self.position.encode()
        return {
            "room_id": self.room_id,
            "user_id": str(self.user_id),
            "text": self.text,
            "created_at": rfc3339(self.created_at),
            "position": position,
            "cursor": self.position.cursor(),
        }
