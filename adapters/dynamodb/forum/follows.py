"""Follows and read markers in the forum table, one item per (thread, user):
`THREADFOLLOW#{participant}#{item}` and `THREADREAD#{participant}#{item}`, `time` = the user id.
A follow of a closed thread carries `expires_at` (ms) and `ttl` (s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.dynamodb.base import expiry_attributes, from_ms, serialize
from adapters.dynamodb.forum.table import DynamoDbForum, decode_item, follows_pk, read_markers_pk
from application.forum.ports import Follow, ReadMarker
from domain.forum.model import ThreadKey

if TYPE_CHECKING:
    from adapters.dynamodb.forum.unit_of_work import DynamoDbForumUnitOfWork


def follow_item(follow: Follow) -> dict[str, Any]:
    plain: dict[str, Any] = {"PK": follows_pk(follow.key), "time": follow.user_id, "user_id": follow.user_id}
    if follow.expires_at is not None:
        plain.update(expiry_attributes(follow.expires_at))
    return serialize(plain)


def follow_from_item(key: ThreadKey, item: dict[str, Any]) -> Follow:
    plain = decode_item(item)
    expires = plain.get("expires_at")
    return Follow(key, plain["user_id"], None if expires is None else from_ms(expires))


def marker_item(marker: ReadMarker) -> dict[str, Any]:
    return serialize(
        {
            "PK": read_markers_pk(marker.key),
            "time": marker.user_id,
            "user_id": marker.user_id,
            "seen_message_count": marker.seen_message_count,
            "last_seq": marker.last_seq,
        }
    )


class DynamoDbFollowStore:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def get(self, key: ThreadKey, user_id: int) -> Follow | None:
        follows = self._unit.state.follows
        if (key, user_id) in follows:
            return follows[(key, user_id)]
        loaded = self._unit.state.loaded_follows
        if (key, user_id) in loaded:
            return loaded[(key, user_id)]
        item = self._forum.get_item(follows_pk(key), user_id)
        return None if item is None else follow_from_item(key, item)

    def put(self, follow: Follow) -> None:
        self._unit.state.follows[(follow.key, follow.user_id)] = follow

    def delete(self, key: ThreadKey, user_id: int) -> None:
        self._unit.state.follows[(key, user_id)] = None

    def others_follow(self, key: ThreadKey, user_id: int | None) -> bool | None:
        return None  # a Query of the follows; the followers' handler makes it after the response

    def of_thread(self, key: ThreadKey) -> list[Follow]:
        """Every follow of the thread by user id, expired ones too: `Follow.active` is the use case's call."""
        items = self._forum.query_all(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": follows_pk(key)}},
            ConsistentRead=True,
        )
        by_user = {f.user_id: f for f in (follow_from_item(key, item) for item in items)}
        for (k, user_id), follow in self._unit.state.follows.items():
            if k == key:
                by_user[user_id] = follow
        return [f for _, f in sorted(by_user.items()) if f is not None]


class DynamoDbReadMarkerStore:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def get(self, key: ThreadKey, user_id: int) -> ReadMarker | None:
        markers = self._unit.state.markers
        if (key, user_id) in markers:
            return markers[(key, user_id)]
        item = self._forum.get_item(read_markers_pk(key), user_id)
        if item is None:
            return None
        plain = decode_item(item)
        return ReadMarker(key, user_id, plain["seen_message_count"], plain["last_seq"])

    def put(self, marker: ReadMarker) -> None:
        self._unit.state.markers[(marker.key, marker.user_id)] = marker
