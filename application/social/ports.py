"""The social graph's one port. Each write method is one atomic transaction of its own (one
TransactWriteItems on DynamoDB): an edge and its counters, a post and its author's counter, a like
and the post's count change together or not at all, and a repeated write changes nothing.

Pages: lists by user id ascending (followers, following, likers) resume `after` a user id; posts and
timelines, newest first, resume `before` a post (and, in a timeline, its author).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.social.model import Counts, Post, Profile, TimelineEntry


class PostIdTaken(Exception):
    """`add_post` found a post with this id already (two posts in one millisecond, same random bits)."""


class SocialGraph(Protocol):
    def put_profile(self, profile: Profile) -> None: ...

    def get_profile(self, user_id: int) -> Profile | None: ...

    def counts(self, user_id: int) -> Counts: ...

    def follow(self, follower_id: int, followed_id: int) -> bool:
        """Both edge rows and both counters; False (and nothing changed) when the edge existed."""
        ...

    def unfollow(self, follower_id: int, followed_id: int) -> bool:
        """False (and nothing changed) when there was no edge."""
        ...

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]: ...

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]: ...

    def add_post(self, post: Post) -> None:
        """The post and its author's post counter; raises PostIdTaken on an id collision."""
        ...

    def get_post(self, author_id: int, post_id: int) -> Post | None: ...

    def delete_post(self, author_id: int, post_id: int) -> Post | None:
        """The post, its author's counter and its like count; None when there was no such post."""
        ...

    def posts(self, author_id: int, before: int | None, limit: int) -> list[Post]:
        """Newest first."""
        ...

    def like(self, author_id: int, post_id: int, user_id: int) -> bool | None:
        """The like row and the post's count; False when already liked, None when there is no such post."""
        ...

    def unlike(self, post_id: int, user_id: int) -> bool:
        """False (and nothing changed) when the user had not liked the post."""
        ...

    def likers(self, post_id: int, after: int | None, limit: int) -> list[int]: ...

    def like_count(self, post_id: int) -> int: ...

    def forget_likes(self, post_id: int, user_ids: Sequence[int]) -> None:
        """Remove like rows of a deleted post (in bounded batches, after the post is gone)."""
        ...

    def add_to_timelines(self, owner_ids: Sequence[int], post: Post, expires_at: datetime) -> None:
        """Idempotent: writing the same post to the same timeline again changes nothing visible."""
        ...

    def remove_from_timelines(self, owner_ids: Sequence[int], post: Post) -> None: ...

    def timeline(
        self, owner_id: int, before: tuple[int, int] | None, limit: int, now: datetime
    ) -> list[TimelineEntry]:
        """Unexpired entries, newest post first; `before` is a (post_id, author_id) position."""
        ...
