"""Domain events of the social context: what the message bus's handlers act on after a commit."""

from __future__ import annotations

from dataclasses import dataclass

from domain.social.model import Post


@dataclass(frozen=True)
class PostPublished:
    post: Post


@dataclass(frozen=True)
class PostDeleted:
    post: Post


@dataclass(frozen=True)
class TimelineBatchDue:
    """One bounded step of a fan-out: copy `post` to the timelines of the author's followers after
    follower `after` (None: from the first). Each step queues the next, so a post by someone with many
    followers never holds the bus's worker for long, and other handlers run between its steps."""

    post: Post
    after: int | None = None
    remove: bool = False
