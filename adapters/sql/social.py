"""The social graph on SQL (SQLite or PostgreSQL): each method is one transaction.

Tables (registered on adapters.sql.tables.metadata; migration 0003 creates them):
- `social_follows` holds each edge once, keyed (followed, follower) for "followers of", with an
  index (follower, followed) for "following"; `social_counts` holds a user's three 64-bit counters.
- `social_posts` keyed by post id (ids sort by time) with an index (author, post id);
  `social_likes` keyed (post, user); `social_like_counts` one row per post.
- `social_timeline` keyed (owner, post id, author), a copy of the post with its `expires_at`.

Idempotency: an edge is inserted with ON CONFLICT DO NOTHING (or deleted) and the counters move only
when a row did, in the same transaction. Counter rows are updated in user id order, so two users
following each other at once never deadlock on PostgreSQL. SQLite writers queue on BEGIN IMMEDIATE.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from adapters.sql.base import unavailable_as_backend_error
from adapters.sql.engine import WRITE_LOCK
from adapters.sql.tables import Id, UtcDateTime, metadata
from application.social.ports import PostIdTaken
from domain.social.model import MAX_IMAGE_URL_CHARS, MAX_NAME_CHARS, Counts, Post, Profile, TimelineEntry

Counter = sa.BigInteger  # 64-bit, as issue 17 asks


def _post_columns() -> list[sa.Column]:
    return [
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("image_url", sa.String(MAX_IMAGE_URL_CHARS), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
    ]


profiles = sa.Table(
    "social_profiles",
    metadata,
    sa.Column("user_id", Id, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(MAX_NAME_CHARS), nullable=False),
    sa.Column("about", sa.Text, nullable=False, server_default=""),
    sa.Column("image_url", sa.String(MAX_IMAGE_URL_CHARS), nullable=True),
)
counts = sa.Table(
    "social_counts",
    metadata,
    sa.Column("user_id", Id, primary_key=True, autoincrement=False),
    sa.Column("followers", Counter, nullable=False, server_default="0"),
    sa.Column("following", Counter, nullable=False, server_default="0"),
    sa.Column("posts", Counter, nullable=False, server_default="0"),
)
follows = sa.Table(
    "social_follows",
    metadata,
    sa.Column("followed_id", Id, nullable=False),
    sa.Column("follower_id", Id, nullable=False),
    sa.PrimaryKeyConstraint("followed_id", "follower_id"),
    sa.Index(None, "follower_id", "followed_id"),
)
posts = sa.Table(
    "social_posts",
    metadata,
    sa.Column("post_id", Id, primary_key=True, autoincrement=False),
    sa.Column("author_id", Id, nullable=False),
    *_post_columns(),
    sa.Index(None, "author_id", "post_id"),
)
likes = sa.Table(
    "social_likes",
    metadata,
    sa.Column("post_id", Id, nullable=False),
    sa.Column("user_id", Id, nullable=False),
    sa.PrimaryKeyConstraint("post_id", "user_id"),
)
like_counts = sa.Table(
    "social_like_counts",
    metadata,
    sa.Column("post_id", Id, primary_key=True, autoincrement=False),
    sa.Column("likes", Counter, nullable=False, server_default="0"),
)
timeline = sa.Table(
    "social_timeline",
    metadata,
    sa.Column("owner_id", Id, nullable=False),
    sa.Column("post_id", Id, nullable=False),
    sa.Column("author_id", Id, nullable=False),
    *_post_columns(),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("owner_id", "post_id", "author_id"),
)
SOCIAL_TABLES = (profiles, counts, follows, posts, likes, like_counts, timeline)


def _insert(connection: Connection, table: sa.Table):
    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)


class SqlSocialGraph:
    def __init__(self, engine: Engine):
        self._engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with unavailable_as_backend_error(), self._engine.connect() as connection:
            connection.execution_options(**{WRITE_LOCK: True})
            with connection.begin():
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with unavailable_as_backend_error(), self._engine.connect() as connection, connection.begin():
            yield connection

    # -- profiles and counters -------------------------------------------------------------------

    def put_profile(self, profile: Profile) -> None:
        values = {"user_id": profile.user_id, "name": profile.name, "about": profile.about,
                  "image_url": profile.image_url}
        with self._write() as c:
            statement = _insert(c, profiles).values(**values)
            c.execute(statement.on_conflict_do_update(
                index_elements=["user_id"], set_={k: statement.excluded[k] for k in values if k != "user_id"}))

    def get_profile(self, user_id: int) -> Profile | None:
        with self._read() as c:
            row = c.execute(sa.select(profiles).where(profiles.c.user_id == user_id)).first()
        return None if row is None else Profile(row.user_id, row.name, row.about, row.image_url)

    def counts(self, user_id: int) -> Counts:
        with self._read() as c:
            row = c.execute(sa.select(counts).where(counts.c.user_id == user_id)).first()
        return Counts() if row is None else Counts(row.followers, row.following, row.posts)

    @staticmethod
    def _bump(c: Connection, changes: dict[int, dict[str, int]]) -> None:
        for user_id in sorted(changes):
            delta = changes[user_id]
            statement = _insert(c, counts).values(user_id=user_id, **{k: max(v, 0) for k, v in delta.items()})
            c.execute(statement.on_conflict_do_update(
                index_elements=["user_id"], set_={k: counts.c[k] + v for k, v in delta.items()}))

    # -- follows ---------------------------------------------------------------------------------

    def follow(self, follower_id: int, followed_id: int) -> bool:
        with self._write() as c:
            edge = _insert(c, follows).values(followed_id=followed_id, follower_id=follower_id)
            if not _changed(c, edge.on_conflict_do_nothing().returning(follows.c.follower_id)):
                return False
            self._bump(c, {followed_id: {"followers": 1}, follower_id: {"following": 1}})
            return True

    def unfollow(self, follower_id: int, followed_id: int) -> bool:
        with self._write() as c:
            edge = sa.delete(follows).where(follows.c.followed_id == followed_id, follows.c.follower_id == follower_id)
            if not _changed(c, edge.returning(follows.c.follower_id)):
                return False
            self._bump(c, {followed_id: {"followers": -1}, follower_id: {"following": -1}})
            return True

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        return self._ids(follows.c.follower_id, follows.c.followed_id == user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        return self._ids(follows.c.followed_id, follows.c.follower_id == user_id, after, limit)

    def _ids(self, column: sa.Column, where: sa.ColumnElement[bool], after: int | None, limit: int) -> list[int]:
        query = sa.select(column).where(where).order_by(column).limit(limit)
        if after is not None:
            query = query.where(column > after)
        with self._read() as c:
            return list(c.execute(query).scalars())

    # -- posts -----------------------------------------------------------------------------------

    def add_post(self, post: Post) -> None:
        try:
            with self._write() as c:
                c.execute(sa.insert(posts).values(post_id=post.post_id, author_id=post.author_id, **_post_values(post)))
                c.execute(sa.insert(like_counts).values(post_id=post.post_id, likes=0))
                self._bump(c, {post.author_id: {"posts": 1}})
        except sa_exc.IntegrityError as error:
            raise PostIdTaken(post.post_id) from error

    def get_post(self, author_id: int, post_id: int) -> Post | None:
        with self._read() as c:
            row = c.execute(sa.select(posts).where(posts.c.post_id == post_id, posts.c.author_id == author_id)).first()
        return None if row is None else _post(row)

    def delete_post(self, author_id: int, post_id: int) -> Post | None:
        with self._write() as c:
            gone = sa.delete(posts).where(posts.c.post_id == post_id, posts.c.author_id == author_id)
            row = c.execute(gone.returning(*posts.c)).first()
            if row is None:
                return None
            c.execute(sa.delete(like_counts).where(like_counts.c.post_id == post_id))
            self._bump(c, {author_id: {"posts": -1}})
            return _post(row)

    def posts(self, author_id: int, before: int | None, limit: int) -> list[Post]:
        query = sa.select(posts).where(posts.c.author_id == author_id).order_by(posts.c.post_id.desc()).limit(limit)
        if before is not None:
            query = query.where(posts.c.post_id < before)
        with self._read() as c:
            return [_post(row) for row in c.execute(query)]

    # -- likes -----------------------------------------------------------------------------------

    def like(self, author_id: int, post_id: int, user_id: int) -> bool | None:
        with self._write() as c:
            # FOR SHARE on PostgreSQL: the post cannot be deleted between this check and the count.
            exists = sa.select(posts.c.post_id).where(posts.c.post_id == post_id, posts.c.author_id == author_id)
            if c.execute(exists.with_for_update(read=True)).first() is None:
                return None
            row = _insert(c, likes).values(post_id=post_id, user_id=user_id)
            if not _changed(c, row.on_conflict_do_nothing().returning(likes.c.user_id)):
                return False
            c.execute(_count_change(post_id, 1))
            return True

    def unlike(self, post_id: int, user_id: int) -> bool:
        with self._write() as c:
            row = sa.delete(likes).where(likes.c.post_id == post_id, likes.c.user_id == user_id)
            if not _changed(c, row.returning(likes.c.user_id)):
                return False
            c.execute(_count_change(post_id, -1))  # no row left for a deleted post: nothing to change
            return True

    def likers(self, post_id: int, after: int | None, limit: int) -> list[int]:
        return self._ids(likes.c.user_id, likes.c.post_id == post_id, after, limit)

    def like_count(self, post_id: int) -> int:
        with self._read() as c:
            value = c.execute(sa.select(like_counts.c.likes).where(like_counts.c.post_id == post_id)).scalar()
        return value or 0

    def forget_likes(self, post_id: int, user_ids: Sequence[int]) -> None:
        with self._write() as c:
            c.execute(sa.delete(likes).where(likes.c.post_id == post_id, likes.c.user_id.in_(list(user_ids))))

    # -- timelines -------------------------------------------------------------------------------

    def add_to_timelines(self, owner_ids: Sequence[int], post: Post, expires_at: datetime) -> None:
        if not owner_ids:
            return
        common = {"post_id": post.post_id, "author_id": post.author_id, "expires_at": expires_at, **_post_values(post)}
        with self._write() as c:
            c.execute(_insert(c, timeline).on_conflict_do_nothing(), [{"owner_id": o, **common} for o in owner_ids])

    def remove_from_timelines(self, owner_ids: Sequence[int], post: Post) -> None:
        if not owner_ids:
            return
        with self._write() as c:
            c.execute(sa.delete(timeline).where(
                timeline.c.owner_id.in_(list(owner_ids)),
                timeline.c.post_id == post.post_id,
                timeline.c.author_id == post.author_id,
            ))

    def timeline(
        self, owner_id: int, before: tuple[int, int] | None, limit: int, now: datetime
    ) -> list[TimelineEntry]:
        query = (
            sa.select(timeline)
            .where(timeline.c.owner_id == owner_id, timeline.c.expires_at > now)
            .order_by(timeline.c.post_id.desc(), timeline.c.author_id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(sa.tuple_(timeline.c.post_id, timeline.c.author_id) < sa.tuple_(*before))
        with self._read() as c:
            return [TimelineEntry(owner_id, _post(row), row.expires_at) for row in c.execute(query)]


def _changed(c: Connection, statement) -> bool:
    """Whether the statement touched a row; RETURNING says so on every driver (psycopg's rowcount
    after INSERT … ON CONFLICT DO NOTHING through SQLAlchemy came back -1)."""
    return c.execute(statement).first() is not None


def _count_change(post_id: int, delta: int) -> sa.Update:
    return sa.update(like_counts).where(like_counts.c.post_id == post_id).values(likes=like_counts.c.likes + delta)


def _post_values(post: Post) -> dict:
    return {"content": post.content, "image_url": post.image_url, "created_at": post.created_at}


def _post(row) -> Post:
    return Post(row.post_id, row.author_id, row.content, row.image_url, row.created_at)
