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
| `u#<user>#timeline`   | `p#<post>#u#<author>`   | content, imageUrl, timestamp, expiresAt, ttl |

Ids in sort keys are zero-padded to 19 digits, so that string order is numeric order (post ids
sort by time: a newest-first page is one Query with ScanIndexForward=false). Every read pattern is
one GetItem or one Query; every write that changes an edge and its counters is one
TransactWriteItems whose conditions make a repeat change nothing. Timeline entries carry `ttl`
(epoch seconds) for DynamoDB's deletion and `expiresAt` (ms) that reads filter on, since TTL
deletes late. Fan-out writes go in BatchWriteItem requests of 25.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.client import DynamoDbSettings, call, error_code, make_client
from application.shared import BackendUnavailable
from application.social.ports import PostIdTaken
from domain.social.model import Counts, Post, Profile, TimelineEntry

SOCIAL_TABLE = "social"
BATCH_WRITE_ITEMS = 25
TRANSACT_ATTEMPTS = 8
COUNTER_NAMES = {"followers": "follower#", "following": "following#", "posts": "post#"}


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


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _from_ms(value: dict[str, str]) -> datetime:
    return datetime.fromtimestamp(int(value["N"]) / 1000, tz=UTC)


def _post_attributes(post: Post) -> dict[str, Any]:
    attributes = {"content": {"S": post.content}, "timestamp": {"N": str(_ms(post.created_at))}}
    if post.image_url:
        attributes["imageUrl"] = {"S": post.image_url}
    return attributes


def _post_from(item: dict[str, Any], post_id: int, author_id: int) -> Post:
    image = item.get("imageUrl", {}).get("S")
    return Post(post_id, author_id, item["content"]["S"], image, _from_ms(item["timestamp"]))


class _Cancelled(Exception):
    """A transaction refused by one of its conditions: `failed` holds their positions."""

    def __init__(self, failed: set[int]):
        super().__init__(failed)
        self.failed = failed


class DynamoDbSocialGraph:
    def __init__(self, client, table_name: str):
        self.client = client
        self.table = table_name

    @classmethod
    def from_settings(cls, settings: DynamoDbSettings | dict[str, Any] | None, client=None) -> DynamoDbSocialGraph:
        if not isinstance(settings, DynamoDbSettings):
            settings = DynamoDbSettings.from_settings(settings)
        return cls(client or make_client(settings), social_table_name(settings.table_prefix))

    # -- requests ----------------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = call(self.client.get_item, TableName=self.table, Key=_key(pk, sk), ConsistentRead=True)
        return answer.get("Item")

    def _query(self, pk: str, limit: int, bound: tuple[str, str] | None = None, newest_first: bool = False,
               **extra: Any) -> list[dict[str, Any]]:
        condition, values = "PK = :pk", {":pk": {"S": pk}}
        if bound is not None:
            condition += f" AND SK {bound[0]} :bound"
            values[":bound"] = {"S": bound[1]}
        extra.setdefault("ExpressionAttributeValues", {}).update(values)
        answer = call(self.client.query, TableName=self.table, KeyConditionExpression=condition, Limit=limit,
                      ScanIndexForward=not newest_first, ConsistentRead=True, **extra)
        return answer.get("Items", [])

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems; conflicts with concurrent transactions are retried, refused
        conditions raise _Cancelled with their positions."""
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                call(self.client.transact_write_items, TransactItems=items)
                return
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
                if failed:
                    raise _Cancelled(failed) from None
            time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise BackendUnavailable("dynamodb")

    def _put(self, pk: str, sk: str, attributes: dict[str, Any] | None = None, new: bool = True) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table, "Item": {**_key(pk, sk), **(attributes or {})}}
        if new:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        return {"Put": put}

    def _delete(self, pk: str, sk: str, must_exist: bool = True) -> dict[str, Any]:
        delete: dict[str, Any] = {"TableName": self.table, "Key": _key(pk, sk)}
        if must_exist:
            delete["ConditionExpression"] = "attribute_exists(PK)"
        return {"Delete": delete}

    def _add(self, pk: str, sk: str, attribute: str, delta: int, must_exist: bool = False) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table, "Key": _key(pk, sk), "UpdateExpression": "ADD #n :d",
            "ExpressionAttributeNames": {"#n": attribute},
            "ExpressionAttributeValues": {":d": {"N": str(delta)}},
        }
        if must_exist:
            update["ConditionExpression"] = "attribute_exists(PK)"
        return {"Update": update}

    def _count(self, user_id: int, counter: str, delta: int) -> dict[str, Any]:
        return self._add(user_pk(user_id), "count", COUNTER_NAMES[counter], delta)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            pending = {self.table: requests[start:start + BATCH_WRITE_ITEMS]}
            for attempt in range(TRANSACT_ATTEMPTS):
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
        item = self._get(user_pk(user_id), "info")
        if item is None:
            return None
        return Profile(user_id, item["name"]["S"], item["content"]["S"], item.get("imageUrl", {}).get("S"))

    def counts(self, user_id: int) -> Counts:
        item = self._get(user_pk(user_id), "count") or {}
        return Counts(**{field: int(item.get(name, {}).get("N", 0)) for field, name in COUNTER_NAMES.items()})

    # -- follows -------------------------------------------------------------------------------

    def follow(self, follower_id: int, followed_id: int) -> bool:
        try:
            self._transact([
                self._put(user_pk(followed_id, "follower"), user_sk(follower_id)),
                self._put(user_pk(follower_id, "following"), user_sk(followed_id)),
                self._count(followed_id, "followers", 1),
                self._count(follower_id, "following", 1),
            ])
        except _Cancelled:
            return False
        return True

    def unfollow(self, follower_id: int, followed_id: int) -> bool:
        try:
            self._transact([
                self._delete(user_pk(followed_id, "follower"), user_sk(follower_id)),
                self._delete(user_pk(follower_id, "following"), user_sk(followed_id)),
                self._count(followed_id, "followers", -1),
                self._count(follower_id, "following", -1),
            ])
        except _Cancelled:
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
        try:
            self._transact([
                self._put(user_pk(post.author_id, "post"), post_sk(post.post_id), _post_attributes(post)),
                self._put(post_pk(post.post_id, "likecount"), "count", {"likecount": {"N": "0"}}),
                self._count(post.author_id, "posts", 1),
            ])
        except _Cancelled as cancelled:
            raise PostIdTaken(post.post_id) from cancelled

    def get_post(self, author_id: int, post_id: int) -> Post | None:
        item = self._get(user_pk(author_id, "post"), post_sk(post_id))
        return None if item is None else _post_from(item, post_id, author_id)

    def delete_post(self, author_id: int, post_id: int) -> Post | None:
        post = self.get_post(author_id, post_id)
        if post is None:
            return None
        try:
            self._transact([
                self._delete(user_pk(author_id, "post"), post_sk(post_id)),
                self._delete(post_pk(post_id, "likecount"), "count", must_exist=False),
                self._count(author_id, "posts", -1),
            ])
        except _Cancelled:
            return None  # deleted meanwhile by another request
        return post

    def posts(self, author_id: int, before: int | None, limit: int) -> list[Post]:
        bound = ("<", post_sk(before)) if before is not None else ("<", "q")  # "q" sorts after every "p#…"
        items = self._query(user_pk(author_id, "post"), limit, bound, newest_first=True)
        return [_post_from(item, _id_of(item["SK"]["S"]), author_id) for item in items]

    # -- likes ---------------------------------------------------------------------------------

    def like(self, author_id: int, post_id: int, user_id: int) -> bool | None:
        post_exists = {"ConditionCheck": {
            "TableName": self.table, "Key": _key(user_pk(author_id, "post"), post_sk(post_id)),
            "ConditionExpression": "attribute_exists(PK)",
        }}
        try:
            self._transact([
                post_exists,
                self._put(post_pk(post_id, "likelist"), user_sk(user_id)),
                self._add(post_pk(post_id, "likecount"), "count", "likecount", 1),
            ])
        except _Cancelled as cancelled:
            return None if 0 in cancelled.failed else False
        return True

    def unlike(self, post_id: int, user_id: int) -> bool:
        like_row = (post_pk(post_id, "likelist"), user_sk(user_id))
        try:
            self._transact([self._delete(*like_row), self._add(post_pk(post_id, "likecount"), "count", "likecount", -1,
                                                              must_exist=True)])
        except _Cancelled as cancelled:
            if 0 in cancelled.failed:
                return False
            # The post (and its count) is gone: the like row alone is left to remove.
            try:
                self._transact([self._delete(*like_row)])
            except _Cancelled:
                return False
        return True

    def likers(self, post_id: int, after: int | None, limit: int) -> list[int]:
        return self._user_ids(post_pk(post_id, "likelist"), after, limit)

    def like_count(self, post_id: int) -> int:
        item = self._get(post_pk(post_id, "likecount"), "count") or {}
        return int(item.get("likecount", {}).get("N", 0))

    def forget_likes(self, post_id: int, user_ids: Sequence[int]) -> None:
        pk = post_pk(post_id, "likelist")
        self._batch_write([{"DeleteRequest": {"Key": _key(pk, user_sk(u))}} for u in user_ids])

    # -- timelines -----------------------------------------------------------------------------

    def add_to_timelines(self, owner_ids: Sequence[int], post: Post, expires_at: datetime) -> None:
        attributes = {
            **_post_attributes(post),
            "expiresAt": {"N": str(_ms(expires_at))},
            "ttl": {"N": str(math.ceil(expires_at.timestamp()))},
        }
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
        items = self._query(
            user_pk(owner_id, "timeline"), limit, bound, newest_first=True,
            FilterExpression="expiresAt > :now", ExpressionAttributeValues={":now": {"N": str(_ms(now))}},
        )
        return [_entry(owner_id, item) for item in items]


def _entry(owner_id: int, item: dict[str, Any]) -> TimelineEntry:
    _, post_id, _, author_id = item["SK"]["S"].split("#")
    post = _post_from(item, int(post_id), int(author_id))
    return TimelineEntry(owner_id, post, _from_ms(item["expiresAt"]))
