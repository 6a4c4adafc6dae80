"""The forum table (partition key `PK`, sort key `time`, as in the AlgoREA data model): the key of
each item kind, and DynamoDbForum, the table on the process's client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.dynamodb.base import DynamoDbTable, deserialize, to_ms
from adapters.dynamodb.client import call
from adapters.dynamodb.tables import FORUM_TABLE
from domain.forum.model import ThreadKey

# Numbers come back as Decimal; these stay floats even when they happen to be whole.
FLOAT_FIELDS = frozenset({"score"})


def _tid(key: ThreadKey) -> str:
    return f"{key.participant_id}#{key.item_id}"


def events_pk(key: ThreadKey) -> str:
    return f"THREADEV#{_tid(key)}"


def counter_pk(key: ThreadKey) -> str:
    return f"THREADSEQ#{_tid(key)}"


def message_pk(key: ThreadKey, uuid: str) -> str:
    return f"THREADMSG#{_tid(key)}#{uuid}"


def thread_pk(key: ThreadKey) -> str:
    return f"THREAD#{_tid(key)}"


def follows_pk(key: ThreadKey) -> str:
    return f"THREADFOLLOW#{_tid(key)}"


def read_markers_pk(key: ThreadKey) -> str:
    return f"THREADREAD#{_tid(key)}"


def subscriptions_pk(key: ThreadKey) -> str:
    return f"THREADSUB#{_tid(key)}"


def thread_order(latest_update_at: datetime | None, key: ThreadKey) -> str:
    """GSI sort key: fixed-width so string order is (latest_update_at, item_id, participant_id) order."""
    return f"{to_ms(latest_update_at) if latest_update_at else 0:015d}#{key.item_id:019d}#{key.participant_id:019d}"


def item_key(pk: str, sk: int) -> dict[str, Any]:
    return {"PK": {"S": pk}, "time": {"N": str(sk)}}


def decode_item(item: dict[str, Any]) -> dict[str, Any]:
    """A forum item's plain values (`score` stays a float)."""
    return deserialize(item, FLOAT_FIELDS)


class DynamoDbForum(DynamoDbTable):
    """The forum table; one per process, shared by every unit of work."""

    NAME = FORUM_TABLE

    def get_item(self, pk: str, sk: int) -> dict[str, Any] | None:
        return self.get(item_key(pk, sk))

    def get_items(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """Up to 100 items by key in one strongly consistent BatchGetItem (more only for keys that
        DynamoDB left unprocessed), by (PK, time); a missing item has no entry."""
        request = {self.table: {"Keys": [item_key(pk, sk) for pk, sk in keys], "ConsistentRead": True}}
        found: dict[tuple[str, int], dict[str, Any]] = {}
        while request:
            answer = call(self.client.batch_get_item, RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table, []):
                found[(item["PK"]["S"], int(item["time"]["N"]))] = item
            request = answer.get("UnprocessedKeys") or None
        return found
