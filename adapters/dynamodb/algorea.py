"""The AlgoREA directory (items, users) on DynamoDB, for the `aws` profile: items of the forum table,
`PK = DIRITEM#{item_id}` and `PK = DIRUSER#{group_id}`, `time = 0`.

Reads are BatchGetItem (100 keys a request, unprocessed keys sent again). An import is one
TransactWriteItems per 100 entries: a document of at most 100 entries is stored all or nothing;
a longer one in that many steps, and since every step replaces entries by id, running a failed
import again completes it (the document was validated whole before the first step).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.dynamodb.base import deserialize, serialize
from adapters.dynamodb.client import call
from adapters.dynamodb.forum.table import DynamoDbForum, item_key
from application.forum.directory import DirectoryItem, DirectoryUser

BATCH_MAX = 100


def item_pk(item_id: int) -> str:
    return f"DIRITEM#{item_id}"


def user_pk(group_id: int) -> str:
    return f"DIRUSER#{group_id}"


class DynamoDbDirectory:
    def __init__(self, forum: DynamoDbForum):
        self._forum = forum

    def import_entries(self, items: list[DirectoryItem], users: list[DirectoryUser]) -> tuple[int, int]:
        puts = [_item(item_pk(i.item_id), type=i.type, title=i.title, language_tag=i.language_tag) for i in items]
        puts += [
            _item(user_pk(u.group_id), login=u.login, first_name=u.first_name, last_name=u.last_name,
                  show_personal_info=u.show_personal_info)
            for u in users
        ]
        for start in range(0, len(puts), BATCH_MAX):
            writes = [{"Put": {"TableName": self._forum.table, "Item": p}} for p in puts[start:start + BATCH_MAX]]
            call(self._forum.client.transact_write_items, TransactItems=writes)
        return len(items), len(users)

    def items(self, item_ids: Iterable[int]) -> dict[int, DirectoryItem]:
        found = self._get([item_pk(i) for i in set(item_ids)])
        return {
            int(row["PK"].removeprefix("DIRITEM#")): DirectoryItem(
                int(row["PK"].removeprefix("DIRITEM#")), row.get("type"), row.get("title"), row.get("language_tag"))
            for row in found
        }

    def users(self, group_ids: Iterable[int]) -> dict[int, DirectoryUser]:
        found = self._get([user_pk(g) for g in set(group_ids)])
        return {
            int(row["PK"].removeprefix("DIRUSER#")): DirectoryUser(
                int(row["PK"].removeprefix("DIRUSER#")), row.get("login"), row.get("first_name"),
                row.get("last_name"), bool(row.get("show_personal_info", False)))
            for row in found
        }

    def _get(self, pks: list[str]) -> list[dict[str, Any]]:
        pending = [item_key(pk, 0) for pk in sorted(pks)]
        found: list[dict[str, Any]] = []
        while pending:
            batch, pending = pending[:BATCH_MAX], pending[BATCH_MAX:]
            request: dict | None = {self._forum.table: {"Keys": batch}}
            while request:
                answer = call(self._forum.client.batch_get_item, RequestItems=request)
                found += [deserialize(i) for i in answer.get("Responses", {}).get(self._forum.table, [])]
                request = answer.get("UnprocessedKeys") or None
        return found


def _item(pk: str, **values: Any) -> dict[str, Any]:
    """Unknown values are left out (DynamoDB keeps no nulls worth storing)."""
    return {**item_key(pk, 0), **serialize({k: v for k, v in values.items() if v is not None})}
