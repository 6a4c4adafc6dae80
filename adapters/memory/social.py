"""The social graph in memory (tests, the memory profile). One lock makes each method atomic."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from itertools import islice

from application.social.ports import PostIdTaken
from domain.social.model import Counts, Post, Profile, TimelineEntry


class MemorySocialGraph:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profiles: dict[int, Profile] = {}
        self._counts: dict[int, Counts] = {}
        self._followers: dict[int, set[int]] = {}
        self._following: dict[int, set[int]] = {}
        self._posts: dict[int, dict[int, Post]] = {}
        self._likes: dict[int, set[int]] = {}
        self._like_counts: dict[int, int] = {}
        self._timelines: dict[int, dict[tuple[int, int], TimelineEntry]] = {}

    def put_profile(self, profile: Profile) -> None:
        with self._lock:
            self._profiles[profile.user_id] = profile

    def get_profile(self, user_id: int) -> Profile | None:
        return self._profiles.get(user_id)

    def counts(self, user_id: int) -> Counts:
        return self._counts.get(user_id, Counts())

    def _bump(self, user_id: int, **changes: int) -> None:
        current = self._counts.get(user_id, Counts())
        self._counts[user_id] = replace(current, **{k: getattr(current, k) + v for k, v in changes.items()})

    def follow(self, follower_id: int, followed_id: int) -> bool:
        with self._lock:
            if follower_id in self._followers.get(followed_id, ()):
                return False
            self._followers.setdefault(followed_id, set()).add(follower_id)
            self._following.setdefault(follower_id, set()).add(followed_id)
            self._bump(followed_id, followers=1)
            self._bump(follower_id, following=1)
            return True

    def unfollow(self, follower_id: int, followed_id: int) -> bool:
        with self._lock:
            if follower_id not in self._followers.get(followed_id, ()):
                return False
            self._followers[followed_id].discard(follower_id)
            self._following[follower_id].discard(followed_id)
            self._bump(followed_id, followers=-1)
            self._bump(follower_id, following=-1)
            return True

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        with self._lock:
            return _page_after(self._followers.get(user_id, ()), after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        with self._lock:
            return _page_after(self._following.get(user_id, ()), after, limit)

    def add_post(self, post: Post) -> None:
        with self._lock:
            if post.post_id in self._like_counts:
                raise PostIdTaken(post.post_id)
            self._posts.setdefault(post.author_id, {})[post.post_id] = post
            self._like_counts[post.post_id] = 0
            self._bump(post.author_id, posts=1)

    def get_post(self, author_id: int, post_id: int) -> Post | None:
        return self._posts.get(author_id, {}).get(post_id)

    def delete_post(self, author_id: int, post_id: int) -> Post | None:
        with self._lock:
            post = self._posts.get(author_id, {}).pop(post_id, None)
            if post is not None:
                self._like_counts.pop(post_id, None)
                self._bump(author_id, posts=-1)
            return post

    def posts(self, author_id: int, before: int | None, limit: int) -> list[Post]:
        with self._lock:
            ids = sorted((i for i in self._posts.get(author_id, {}) if before is None or i < before), reverse=True)
            return [self._posts[author_id][i] for i in ids[:limit]]

    def like(self, author_id: int, post_id: int, user_id: int) -> bool | None:
        with self._lock:
            if post_id not in self._posts.get(author_id, {}):
                return None
            likes = self._likes.setdefault(post_id, set())
            if user_id in likes:
                return False
            likes.add(user_id)
            self._like_counts[post_id] += 1
            return True

    def unlike(self, post_id: int, user_id: int) -> bool:
        with self._lock:
            if user_id not in self._likes.get(post_id, ()):
                return False
            self._likes[post_id].discard(user_id)
            if post_id in self._like_counts:  # a deleted post has no count left to change
                self._like_counts[post_id] -= 1
            return True

    def likers(self, post_id: int, after: int | None, limit: int) -> list[int]:
        with self._lock:
            return _page_after(self._likes.get(post_id, ()), after, limit)

    def like_count(self, post_id: int) -> int:
        return self._like_counts.get(post_id, 0)

    def forget_likes(self, post_id: int, user_ids: Sequence[int]) -> None:
        with self._lock:
            self._likes.get(post_id, set()).difference_update(user_ids)

    def add_to_timelines(self, owner_ids: Sequence[int], post: Post, expires_at: datetime) -> None:
        with self._lock:
            for owner in owner_ids:
                entry = TimelineEntry(owner, post, expires_at)
                self._timelines.setdefault(owner, {})[(post.post_id, post.author_id)] = entry

    def remove_from_timelines(self, owner_ids: Sequence[int], post: Post) -> None:
        with self._lock:
            for owner in owner_ids:
                self._timelines.get(owner, {}).pop((post.post_id, post.author_id), None)

    def timeline(
        self, owner_id: int, before: tuple[int, int] | None, limit: int, now: datetime
    ) -> list[TimelineEntry]:
        with self._lock:
            entries = self._timelines.get(owner_id, {})
            keys = sorted((k for k in entries if before is None or k < before), reverse=True)
            live = (entries[k] for k in keys if entries[k].live(now))
            return list(islice(live, limit))


def _page_after(ids, after: int | None, limit: int) -> list[int]:
    return sorted(i for i in ids if after is None or i > after)[:limit]
