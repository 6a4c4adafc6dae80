"""Profiles, posts, counters and timeline entries, and the rules on what a user may write."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from domain.shared import MAX_ID, InvalidValue, utc

MAX_POST_CHARS = 2_000
MAX_NAME_CHARS = 100
MAX_ABOUT_CHARS = 500
MAX_IMAGE_URL_CHARS = 2_048
# Timeline entries are kept this long unless configured otherwise (PARLEY_SOCIAL_TIMELINE_DAYS).
DEFAULT_TIMELINE_TTL = timedelta(days=14)

# NUL and lone surrogates cannot be stored by every backend (PostgreSQL refuses NUL in text).
UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f\"<>\\^`{|}]")
# A post id is the creation time in milliseconds (41 bits until 2039) over 22 random bits: ids sort
# by time, so "newest first" is "highest id first" in every store, and two posts in the same
# millisecond differ (a collision is refused by the store's condition and retried with a new id).
RANDOM_BITS = 22


class InvalidPost(InvalidValue):
    code = "invalid_post"


class InvalidProfile(InvalidValue):
    code = "invalid_profile"


class CannotFollowSelf(InvalidValue):
    code = "cannot_follow_self"

    def __init__(self) -> None:
        super().__init__("a user cannot follow themselves", {"user_id": ["is the acting user"]})


@dataclass(frozen=True)
class Profile:
    user_id: int
    name: str
    about: str = ""
    image_url: str | None = None


@dataclass(frozen=True)
class Counts:
    """A user's counters, kept in the same transaction as the edges and posts they count."""

    followers: int = 0
    following: int = 0
    posts: int = 0


@dataclass(frozen=True)
class Post:
    post_id: int
    author_id: int
    content: str
    image_url: str | None
    created_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """A followed author's post copied into one user's timeline, kept until `expires_at`."""

    owner_id: int
    post: Post
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return self.expires_at > now


def new_post_id(now: datetime) -> int:
    millis = int(utc(now).timestamp() * 1000)
    post_id = (millis << RANDOM_BITS) | secrets.randbits(RANDOM_BITS)
    return min(max(post_id, 1), MAX_ID)


def post_time(post_id: int) -> datetime:
    """The creation time a post id carries (to the millisecond)."""
    return datetime.fromtimestamp((post_id >> RANDOM_BITS) / 1000, tz=UTC)


def clean_text(value: str, field_name: str, max_chars: int, error: type[InvalidValue], blank_ok: bool) -> str:
    """Trimmed text of 1..max_chars characters (0 allowed when `blank_ok`)."""
    trimmed = value.strip()
    if UNSTORABLE_CHARS.search(trimmed):
        raise error(f"{field_name} has invalid characters", {field_name: ["must not contain NUL or lone surrogates"]})
    if not trimmed and not blank_ok:
        raise error(f"{field_name} is blank", {field_name: ["must not be blank"]})
    if len(trimmed) > max_chars:
        raise error(f"{field_name} is too long", {field_name: [f"must be at most {max_chars} characters"]})
    return trimmed


def clean_post_content(content: str) -> str:
    return clean_text(content, "content", MAX_POST_CHARS, InvalidPost, blank_ok=False)


def clean_image_url(url: str | None, error: type[InvalidValue] = InvalidPost) -> str | None:
    """An absolute http(s) URL with a host, or None. Anything else (javascript:, data:) is refused."""
    if url is None or url == "":
        return None
    reason = _image_url_problem(url)
    if reason:
        raise error("invalid image URL", {"image_url": [reason]})
    return url


def _image_url_problem(url: str) -> str | None:
    if len(url) > MAX_IMAGE_URL_CHARS:
        return f"must be at most {MAX_IMAGE_URL_CHARS} characters"
    if not url.isascii() or _URL_FORBIDDEN.search(url):
        return "must be an encoded URL without spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return "is not a URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URL"
    return None


def clean_profile(user_id: int, name: str, about: str, image_url: str | None) -> Profile:
    return Profile(
        user_id,
        clean_text(name, "name", MAX_NAME_CHARS, InvalidProfile, blank_ok=False),
        clean_text(about, "about", MAX_ABOUT_CHARS, InvalidProfile, blank_ok=True),
        clean_image_url(image_url, InvalidProfile),
    )


def check_follow(follower_id: int, followed_id: int) -> None:
    if follower_id == followed_id:
        raise CannotFollowSelf()
