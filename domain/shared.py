"""Shared kernel: ids, time, cursors and the domain error hierarchy used by every context."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_ID = 2**63 - 1


class DomainError(Exception):
    """Base of every error the domain raises on purpose; the HTTP layer maps each kind to a status."""

    code = "domain_error"

    def __init__(self, message: str, details: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidRequest(DomainError):
    """The request is malformed or breaks a rule about which fields go together (HTTP 400)."""

    code = "invalid_request"


class InvalidValue(DomainError):
    """Well-formed input whose values break a rule, such as a blank or oversize message (HTTP 422)."""

    code = "invalid_value"


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"

    def __init__(self, field_name: str = "cursor"):
        super().__init__("malformed cursor", {field_name: ["not a cursor issued by this service"]})


class Forbidden(DomainError):
    """The actor may not do this. AlgoREA's wording is kept so clients see the same text."""

    code = "forbidden"

    def __init__(self, message: str = "insufficient access rights"):
        super().__init__(message)


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but the current state forbids it, such as posting on a closed thread (HTTP 409)."""

    code = "conflict"


def parse_id(raw: object, field_name: str = "id") -> int:
    """Ids are positive signed-64-bit integers, written as decimal strings in JSON."""
    if isinstance(raw, bool):
        raise InvalidRequest("invalid id", {field_name: ["must be a positive 64-bit integer"]})
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        raise InvalidRequest("invalid id", {field_name: ["must be a positive 64-bit integer"]})
    if not 1 <= value <= MAX_ID:
        raise InvalidRequest("invalid id", {field_name: ["must be a positive 64-bit integer"]})
    return value


def utc(dt: datetime) -> datetime:
    """Normalise to an aware UTC datetime truncated to milliseconds, the precision every store keeps."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.replace(microsecond=(dt.microsecond // 1000) * 1000)


def client_utc(dt: datetime, field_name: str = "time") -> datetime:
    """A time a client sent, normalised like `utc`; one whose UTC value is no date (before year 1 or
    after 9999, such as 0001-01-01T00:00:00+01:00) is malformed input, not an overflow in a store."""
    try:
        return utc(dt)
    except OverflowError:
        raise InvalidRequest(
            "time out of range", {field_name: ["must fall between the years 0001 and 9999 in UTC"]}
        ) from None


def parse_client_time(text: str, field_name: str = "time") -> datetime:
    """An ISO 8601 / RFC 3339 time with its UTC offset (no offset is ambiguous, hence malformed)."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("malformed time", {field_name: ["must be an RFC 3339 time with an offset"]}) from None
    if dt.tzinfo is None:
        raise InvalidRequest("malformed time", {field_name: ["must be an RFC 3339 time with an offset"]})
    return client_utc(dt, field_name)


def rfc3339(dt: datetime) -> str:
    return utc(dt).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(token: str) -> str:
    if not token or len(token) > 200 or not token.isascii():
        raise ValueError("bad token")
    padded = token + "=" * (-len(token) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("bad token") from exc


@dataclass(frozen=True, order=True)
class Cursor:
    """Position of an event in its thread: the per-thread sequence number, opaque to clients.

    Sequence numbers are 0..2^63-1, what a signed 64-bit column holds: a larger one decoded from a
    client's cursor would overflow differently in each store, so decoding refuses it.
    """

    seq: int

    PREFIX = "e1."

    def encode(self) -> str:
        return _b64encode(f"{self.PREFIX}{self.seq}")

    @classmethod
    def decode(cls, token: str, field_name: str = "cursor") -> Cursor:
        try:
            text = _b64decode(token)
        except ValueError:
            raise InvalidCursor(field_name) from None
        body = text.removeprefix(cls.PREFIX)
        if body == text or not (body.isascii() and body.isdigit()) or len(body) > 19:
            raise InvalidCursor(field_name)
        seq = int(body)
        if seq > MAX_ID:
            raise InvalidCursor(field_name)
        return cls(seq)


@dataclass(frozen=True)
class KeysetCursor:
    """A list position made of several sort-key values (for lists ordered by something other than seq)."""

    values: tuple[str, ...] = field(default_factory=tuple)

    PREFIX = "k1|"

    def encode(self) -> str:
        return _b64encode(self.PREFIX + "|".join(self.values))

    @classmethod
    def decode(cls, token: str, arity: int, field_name: str = "from") -> KeysetCursor:
        try:
            text = _b64decode(token)
        except ValueError:
            raise InvalidCursor(field_name) from None
        if not text.startswith(cls.PREFIX):
            raise InvalidCursor(field_name)
        values = tuple(text[len(cls.PREFIX):].split("|"))
        if len(values) != arity:
            raise InvalidCursor(field_name)
        return cls(values)
