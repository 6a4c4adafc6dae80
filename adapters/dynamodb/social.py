"""The social graph on one DynamoDB table, in the "social network" key design of AWS's guide.

| PK                    | SK                      | attributes                              |
|-----------------------|-------------------------|-----------------------------------------|
| `u#<user>`            | `info`                  | name, content, imageUrl                 |
| `u#<user>`            | `count`                 | follower#, following#, post# (N)        |
| `u#<user>#follower`   | `u#<follower>`          |                                         |
| `u#<user>#following`  | `u#<followed>`          |                                         |
| `u#<user>#post`       | `p#<post>`              | content, imageUrl, timestamp            |
| `p#<post>#likelist`   | `u#<user>`              |                                         |
| `p#<post>#likecount`  | `count`                 | likecount (N)                           |
| `u#<user>#timeline`   | `p#<post>#u#<author>`   | content, imageUrl, timestamp, expires_at, ttl |

Ids in sort keys are zero-padded to 19 digits, so that string order is numeric order (post ids
sort by time: a newest-first page is one Query with ScanIndexForward=false). Every read pattern is
one GetItem or one Query; every write that changes an edge and its counters is one
TransactWriteItems whose conditions make a repeat change nothing. Timeline entries carry `ttl`
(epoch seconds) for DynamoDB's deletion and `expires_at` (ms) that reads filter on, since TTL
deletes late. Fan-out writes go in BatchWriteItem requests of 25.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from adapters.dynamodb.base import DynamoDbTable, expiry_attributes, from_ms, to_ms, unexpired_filter
from adapters.dynamodb.client import DynamoDbSettings, call, make_client
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.shared import BackendUnavailable
from application.social.ports import PostIdTaken
from domain.social.model import Counts, Post, Profile, TimelineEntry

SOCIAL_TABLE = "social"
BATCH_WRITE_ITEMS = 25
BATCH_ATTEMPTS = 8
COUNTER_NAMES = {"followers": "follower#", "following": "following#", "posts": "post#"}
MUST_EXIST, MUST_NOT_EXIST = "attribute_exists(PK)", "attribute_not_exists(PK)"


def social_table_name(prefix: str) -> str:
    return f"{prefix}{SOCIAL_TABLE}"


def social_table_definition(prefix: str) -> dict[str, Any]:
    return {
        "TableName": social_table_name(prefix),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    }


# --- keys -------------------------------------------------------------------------------------


def _pad(value: int) -> str:
    return f"{value:019d}"


def user_pk(user_id: int, kind: str | None = None) -> str:
    return f"u#{user_id}" if kind is None else f"u#{user_id}#{kind}"


def post_pk(post_id: int, kind: str) -> str:
    return f"p#{post_id}#{kind}"


def user_sk(user_id: int) -> str:
    return f"u#{_pad(user_id)}"


def post_sk(post_id: int) -> str:
    return f"p#{_pad(post_id)}"


def timeline_sk(post_id: int, author_id: int) -> str:
    return f"{post_sk(post_id)}#{user_sk(author_id)}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _id_of(sk: str) -> int:
    return int(sk.rsplit("#", 1)[1])


def _post_attributes(post: Post) -> dict[str, Any]:
    attributes = {"content": {"S": post.content}, "timestamp": {"N": str(to_ms(post.created_at))}}
    if post.image_url:
        attributes["imageUrl"] = {"S": post.image_url}
    return attributes


def _post_from(item: dict[str, Any], post_id: int, author_id: int) -> Post:
    image = item.get("imageUrl", {}).get("S")
    return Post(post_id, author_id, item["content"]["S"], image, from_ms(int(item["timestamp"]["N"])))


class _Refused(Exception):
    """A write refused by its condition: the edge, like or post was already so."""


class DynamoDbSocialGraph(DynamoDbTable):
    NAME = SOCIAL_TABLE

    @classmethod
    def from_settings(cls, settings: DynamoDbSettings | dict[str, Any] | None, client=None) -> DynamoDbSocialGraph:
        """On the process's shared client when one is given (the forum's), else a new one."""
        if not isinstance(settings, DynamoDbSettings):
            settings = DynamoDbSettings.from_settings(settings)
        return cls(client or make_client(settings), social_table_name(settings.table_prefix))

    # -- requests ----------------------------------------------------------------------------

    def _query(self, pk: str, limit: int, bound: tuple[str, str] | None = None, newest_first: bool = False,
               **extra: Any) -> list[dict[str, Any]]:
        condition, values = "PK = :pk", {":pk": {"S": pk}}
        if bound is not None:
            condition += f" AND SK {bound[0]} :bound"
            values[":bound"] = {"S": bound[1]}
        extra.setdefault("ExpressionAttributeValues", {}).update(values)
        answer = self.query(KeyConditionExpression=condition, Limit=limit, ScanIndexForward=not newest_first,
                            ConsistentRead=True, **extra)
        return answer.get("Items", [])

    def _transaction(self, refused: tuple[str, ...] = (), **errors: Callable[[], Exception]) -> DynamoDbTransaction:
        """Writes of one TransactWriteItems; a failed condition of a `refused` kind raises _Refused,
        one named in `errors` raises that error; conflicts with other transactions are retried."""
        conflicts = {**errors, **{kind: _Refused for kind in refused}}
        return DynamoDbTransaction(self, conflicts)

    def _count(self, tx: DynamoDbTransaction, user_id: int, counter: str, delta: int) -> None:
        tx.update("count", _key(user_pk(user_id), "count"), "ADD #n :d",
                  names={"#n": COUNTER_NAMES[counter]}, values={":d": {"N": str(delta)}})

    def _like_count(self, tx: DynamoDbTransaction, post_id: int, delta: int, condition: str | None = None) -> None:
        tx.update("likecount", _key(post_pk(post_id, "likecount"), "count"), "ADD likecount :d",
                  condition=condition, values={":d": {"N": str(delta)}})

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            pending = {self.table: requests[start:start + BATCH_WRITE_ITEMS]}
            for attempt in range(BATCH_ATTEMPTS):
                answer = call(self.client.batch_write_item, RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
            else:
                raise BackendUnavailable("dynamodb")

    # -- profiles and counters -----------------------------------------------------------------

    def put_profile(self, profile: Profile) -> None:
        item = {**_key(user_pk(profile.user_id), "info"), "name": {"S": profile.name},
                "content": {"S": profile.about}}
        if profile.image_url:
            item["imageUrl"] = {"S": profile.image_url}
        call(self.client.put_item, TableName=self.table, Item=item)

    def get_profile(self, user_id: int) -> Profile | None:
        item = self.get(_key(user_pk(user_id), "info"))
        if item is None:
            return None
        return Profile(user_id, item["name"]["S"], item["content"]["S"], item.get("imageUrl", {}).get("S"))

    def counts(self, user_id: int) -> Counts:
        item = self.get(_key(user_pk(user_id), "count")) or {}
        return Counts(**{field: int(item.get(name, {}).get("N", 0)) for field, name in COUNTER_NAMES.items()})

    # -- follows -------------------------------------------------------------------------------

    def follow(self, follower_id: int, followed_id: int) -> bool:
        return self._edge(follower_id, followed_id, 1)

    def unfollow(self, follower_id: int, followed_id: int) -> bool:
        return self._edge(follower_id, followed_id, -1)

    def _edge(self, follower_id: int, followed_id: int, delta: int) -> bool:
        """Both edge rows (put if absent, or delete if present) and both counters, in one transaction."""
        tx = self._transaction(refused=("edge",))
        rows = [_key(user_pk(followed_id, "follower"), user_sk(follower_id)),
                _key(user_pk(follower_id, "following"), user_sk(followed_id))]
        for row in rows:
            if delta > 0:
                tx.put("edge", row, MUST_NOT_EXIST)
            else:
                tx.delete("edge", row, MUST_EXIST)
        self._count(tx, followed_id, "followers", delta)
        self._count(tx, follower_id, "following", delta)
        try:
            tx.commit()
        except _Refused:
            return False
        return True

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        return self._user_ids(user_pk(user_id, "follower"), after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        return self._user_ids(user_pk(user_id, "following"), after, limit)

    def _user_ids(self, pk: str, after: int | None, limit: int) -> list[int]:
        bound = None if after is None else (">", user_sk(after))
        items = self._query(pk, limit, bound, ProjectionExpression="SK")
        return [_id_of(item["SK"]["S"]) for item in items]

    # -- posts ---------------------------------------------------------------------------------

    def add_post(self, post: Post) -> None:
        tx = self._transaction(post=lambda: PostIdTaken(post.post_id))
        tx.put("post", {**_key(user_pk(post.author_id, "post"), post_sk(post.post_id)), **_post_attributes(post)},
               MUST_NOT_EXIST)
        tx.put("post", {**_key(post_pk(post.post_id, "likecount"), "count"), "likecount": {"N": "0"}},
               MUST_NOT_EXIST)
        self._count(tx, post.author_id, "posts", 1)
        tx.commit()

    def get_post(self, author_id: int, post_id: int) -> Post | None:
        item = self.get(_key(user_pk(author_id, "post"), post_sk(post_id)))
        return None if item is None else _post_from(item, post_id, author_id)

    def delete_post(self, author_id: int, post_id: int) -> Post | None:
        post = self.get_post(author_id, post_id)
        if post is None:
            return None
        tx = self._transaction(refused=("post",))
        tx.delete("post", _key(user_pk(author_id, "post"), post_sk(post_id)), MUST_EXIST)
        tx.delete("likecount", _key(post_pk(post_id, "likecount"), "count"))
        self._count(tx, author_id, "posts", -1)
        try:
            tx.commit()
        except _Refused:
            return None  # deleted meanwhile by another request
        return post

    def posts(self, author_id: int, before: int | None, limit: int) -> list[Post]:
        bound = ("<", post_sk(before)) if before is not None else ("<", "q")  # "q" sorts after every "p#…"
        items = self._query(user_pk(author_id, "post"), limit, bound, newest_first=True)
        return [_post_from(item, _id_of(item["SK"]["S"]), author_id) for item in items]

    # -- likes ---------------------------------------------------------------------------------

    def like(self, author_id: int, post_id: int, user_id: int) -> bool | None:
        tx = self._transaction(post=_NoSuchPost, like=_Refused)
        tx.condition_check("post", _key(user_pk(author_id, "post"), post_sk(post_id)), MUST_EXIST)
        tx.put("like", _key(post_pk(post_id, "likelist"), user_sk(user_id)), MUST_NOT_EXIST)
        self._like_count(tx, post_id, 1)
        try:
            tx.commit()
        except _NoSuchPost:
            return None
        except _Refused:
            return False
        return True

    def unlike(self, post_id: int, user_id: int) -> bool:
        like_row = _key(post_pk(post_id, "likelist"), user_sk(user_id))
        tx = self._transaction(like=_Refused, likecount=_NoSuchPost)
        tx.delete("like", like_row, MUST_EXIST)
        self._like_count(tx, post_id, -1, MUST_EXIST)
        try:
            tx.commit()
        except _Refused:
            return False
        except _NoSuchPost:
            # The post (and its count) is gone: the like row alone is left to remove.
            alone = self._transaction(refused=("like",))
            alone.delete("like", like_row, MUST_EXIST)
            try:
                alone.commit()
            except _Refused:
                return False
        return True

    def likers(self, post_id: int, after: int | None, limit: int) -> list[int]:
        return self._user_ids(post_pk(post_id, "likelist"), after, limit)

    def like_count(self, post_id: int) -> int:
        item = self.get(_key(post_pk(post_id, "likecount"), "count")) or {}
        return int(item.get("likecount", {}).get("N", 0))

    def forget_likes(self, post_id: int, user_ids: Sequence[int]) -> None:
        pk = post_pk(post_id, "likelist")
        self._batch_write([{"DeleteRequest": {"Key": _key(pk, user_sk(u))}} for u in user_ids])

    # -- timelines -----------------------------------------------------------------------------

    def add_to_timelines(self, owner_ids: Sequence[int], post: Post, expires_at: datetime) -> None:
        expiry = {name: {"N": str(value)} for name, value in expiry_attributes(expires_at).items()}
        attributes = {**_post_attributes(post), **expiry}
        sk = timeline_sk(post.post_id, post.author_id)
        self._batch_write([
            {"PutRequest": {"Item": {**_key(user_pk(owner, "timeline"), sk), **attributes}}} for owner in owner_ids
        ])

    def remove_from_timelines(self, owner_ids: Sequence[int], post: Post) -> None:
        sk = timeline_sk(post.post_id, post.author_id)
        self._batch_write([{"DeleteRequest": {"Key": _key(user_pk(o, "timeline"), sk)}} for o in owner_ids])

    def timeline(
        self, owner_id: int, before: tuple[int, int] | None, limit: int, now: datetime
    ) -> list[TimelineEntry]:
        bound = ("<", timeline_sk(*before)) if before is not None else ("<", "q")
        unexpired, values = unexpired_filter(now)
        items = self._query(user_pk(owner_id, "timeline"), limit, bound, newest_first=True,
                            FilterExpression=unexpired, ExpressionAttributeValues=values)
        return [_entry(owner_id, item) for item in items]


class _NoSuchPost(Exception):
    """The post a like names (or its count) is not there."""


def _entry(owner_id: int, item: dict[str, Any]) -> TimelineEntry:
    _, post_id, _, author_id = item["SK"]["S"].split("#")
    post = _post_from(item, int(post_id), int(author_id))
    return TimelineEntry(owner_id, post, from_ms(int(item["expires_at"]["N"])))
