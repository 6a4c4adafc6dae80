"""Thread state in the forum table: one item per stored thread, `THREAD#{participant}#{item}`,
`time` = 0, listed newest update first through two sparse GSIs (by participant, by helper group).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from adapters.dynamodb.base import from_ms, serialize, serialize_value, to_ms
from adapters.dynamodb.client import call
from adapters.dynamodb.forum.table import DynamoDbForum, decode_item, item_key, thread_order, thread_pk
from adapters.dynamodb.tables import BY_HELPER_GROUP_INDEX, BY_PARTICIPANT_INDEX
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.forum.ports import ThreadListQuery
from domain.forum.model import Thread, ThreadKey, ThreadStatus

if TYPE_CHECKING:
    from adapters.dynamodb.forum.unit_of_work import DynamoDbForumUnitOfWork

BATCH_GET_MAX = 100


def thread_item(thread: Thread) -> dict[str, Any]:
    plain = _thread_attributes(thread)
    plain.update(PK=thread_pk(thread.key), time=0, message_count=thread.message_count)
    return serialize({k: v for k, v in plain.items() if v is not None})


def _thread_attributes(thread: Thread) -> dict[str, Any]:
    key = thread.key
    helper = thread.helper_group_id
    return {
        "item_id": key.item_id,
        "participant_id": key.participant_id,
        "status": str(thread.status),
        "helper_group_id": helper,
        "latest_update_at": to_ms(thread.latest_update_at) if thread.latest_update_at else None,
        # Sparse GSI keys: only thread items carry them, so the indexes hold nothing else.
        "participant_pk": f"P#{key.participant_id}",
        "helper_pk": None if helper is None else f"H#{helper}",
        "thread_order": thread_order(thread.latest_update_at, key),
    }


def thread_from_item(item: dict[str, Any]) -> Thread | None:
    plain = decode_item(item)
    if "status" not in plain:
        return None
    latest = plain.get("latest_update_at")
    return Thread(
        ThreadKey(plain["item_id"], plain["participant_id"]),
        ThreadStatus(plain["status"]),
        plain.get("helper_group_id"),
        plain.get("message_count", 0),
        None if latest is None else from_ms(latest),
    )


class DynamoDbThreadRepository:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def get(self, key: ThreadKey) -> Thread | None:
        state = self._unit.state
        if key in state.saved_threads:
            return state.saved_threads[key]
        if key not in state.loaded_threads:
            item = self._forum.get_item(thread_pk(key), 0)
            state.loaded_threads[key] = None if item is None else thread_from_item(item)
        return state.loaded_threads[key]

    def save(self, thread: Thread) -> None:
        self._unit.state.saved_threads[thread.key] = thread

    def list(self, query: ThreadListQuery) -> list[Thread]:
        if query.participant_ids is not None and query.item_id is not None:
            rows = self._get_threads(ThreadKey(query.item_id, p) for p in query.participant_ids)
        elif query.participant_ids is not None:
            rows = [
                t
                for p in dict.fromkeys(query.participant_ids)
                for t in self._query_index(BY_PARTICIPANT_INDEX, "participant_pk", f"P#{p}", query)
            ]
        elif query.helper_group_id is not None:
            rows = self._query_index(BY_HELPER_GROUP_INDEX, "helper_pk", f"H#{query.helper_group_id}", query)
        else:
            return []
        rows = [t for t in rows if _matches(t, query)]
        rows.sort(key=lambda t: thread_order(t.latest_update_at, t.key), reverse=True)
        return rows[: query.limit]

    def _query_index(self, index: str, hash_name: str, hash_value: str, query: ThreadListQuery) -> list[Thread]:
        """One Query per page of `limit` matching threads, newest first, from the keyset position."""
        names = {"#h": hash_name}
        values: dict[str, Any] = {":h": {"S": hash_value}}
        upper = thread_order(*query.after) if query.after else None
        lower = f"{to_ms(query.latest_update_gt) + 1:015d}" if query.latest_update_gt else None
        condition = "#h = :h"
        if upper is not None or lower is not None:
            names["#o"] = "thread_order"
        if upper is not None and lower is not None:
            if upper < lower:
                return []
            # BETWEEN is inclusive: the row at the keyset position itself is dropped by _matches.
            condition += " AND #o BETWEEN :lo AND :hi"
            values.update({":lo": {"S": lower}, ":hi": {"S": upper}})
        elif upper is not None:
            condition += " AND #o < :hi"
            values[":hi"] = {"S": upper}
        elif lower is not None:
            condition += " AND #o >= :lo"
            values[":lo"] = {"S": lower}
        filters = []
        if query.status is not None:
            filters.append("#st = :st")
            names["#st"] = "status"
            values[":st"] = {"S": str(query.status)}
        if query.item_id is not None:
            filters.append("item_id = :item")
            values[":item"] = {"N": str(query.item_id)}
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        found: list[Thread] = []
        while len(found) < query.limit:
            answer = self._forum.query(**kwargs)
            found += [t for t in map(thread_from_item, answer.get("Items", [])) if t is not None]
            if "LastEvaluatedKey" not in answer:
                break
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return found

    def _get_threads(self, keys: Iterable[ThreadKey]) -> list[Thread]:
        """One BatchGetItem per 100 participants: the thread of one item is a known key for each."""
        pending = [item_key(thread_pk(k), 0) for k in dict.fromkeys(keys)]
        found: list[Thread] = []
        while pending:
            batch, pending = pending[:BATCH_GET_MAX], pending[BATCH_GET_MAX:]
            request = {self._forum.table: {"Keys": batch, "ConsistentRead": True}}
            while request:
                answer = call(self._forum.client.batch_get_item, RequestItems=request)
                items = answer.get("Responses", {}).get(self._forum.table, [])
                found += [t for t in map(thread_from_item, items) if t is not None]
                request = answer.get("UnprocessedKeys") or None
        return found


def _matches(thread: Thread, q: ThreadListQuery) -> bool:
    if q.item_id is not None and thread.key.item_id != q.item_id:
        return False
    if q.status is not None and thread.status != q.status:
        return False
    latest = thread.latest_update_at
    if q.latest_update_gt is not None and not (latest and latest > q.latest_update_gt):
        return False
    if q.helper_group_id is not None and thread.helper_group_id != q.helper_group_id:
        return False
    if q.participant_ids is not None and thread.key.participant_id not in q.participant_ids:
        return False
    if q.after is not None:
        after_time, after_key = q.after
        return thread_order(thread.latest_update_at, thread.key) < thread_order(after_time, after_key)
    return True


def buffer_thread_write(tx: DynamoDbTransaction, thread: Thread, loaded: dict[ThreadKey, Thread | None]) -> None:
    """A thread read in this unit is updated, not overwritten, so concurrent posts keep their counts.

    The message count moves by this unit's delta (ADD) and the write is conditioned on the
    status read: a concurrent status change makes this unit fail with a Conflict.
    """
    if thread.key not in loaded:
        tx.put("thread", thread_item(thread))
        return
    loaded_thread = loaded[thread.key]
    attributes = _thread_attributes(thread)
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets, removes = [], []
    for i, (name, value) in enumerate(attributes.items()):
        names[f"#a{i}"] = name
        if value is None:
            removes.append(f"#a{i}")
        else:
            sets.append(f"#a{i} = :a{i}")
            values[f":a{i}"] = serialize_value(value)
    names["#mc"] = "message_count"
    values[":delta"] = {"N": str(thread.message_count - (loaded_thread.message_count if loaded_thread else 0))}
    expression = f"SET {', '.join(sets)} ADD #mc :delta"
    if removes:
        expression += f" REMOVE {', '.join(removes)}"
    names["#status"] = "status"
    if loaded_thread is None:
        condition = "attribute_not_exists(#status)"
    else:
        condition = "#status = :loaded_status"
        values[":loaded_status"] = {"S": str(loaded_thread.status)}
    tx.update("thread", item_key(thread_pk(thread.key), 0), expression, condition, names=names, values=values)
