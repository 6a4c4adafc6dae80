"""Buffered writes sent as one TransactWriteItems: what makes a DynamoDB unit of work atomic.

Each buffered write carries a `kind` (the caller's name for what it writes, e.g. "thread"). When
DynamoDB cancels the transaction, its CancellationReasons line up with the writes: a kind whose
condition failed (ConditionalCheckFailed) is looked up in the caller's `conflicts`, in their order,
and the first one found is raised as the caller's error. Any other cancellation (a conflicting
transaction, throttling, a condition the caller retries on, such as a counter that moved) is retried
after a short random backoff, giving the caller a chance to rewrite the buffer (`on_retry`); after
COMMIT_ATTEMPTS attempts the unit gives up with BackendUnavailable, a 503. Throttling and timeouts of
the request itself are mapped to a 503 by `call` (adapters/dynamodb/client.py).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.base import DynamoDbTable
from adapters.dynamodb.client import call, error_code
from application.shared import BackendUnavailable

MAX_TRANSACT_ITEMS = 100
COMMIT_ATTEMPTS = 40
# The backoff after a cancelled attempt: uniform in [0, min(cap, base * 2**attempt)] seconds, so at
# most 1.76 s of sleep in all over the 40 attempts (plus the requests) before the 503.
BACKOFF_BASE_SECONDS = 0.001
BACKOFF_CAP_SECONDS = 0.05

# Each kind whose failed condition is an answer, with the error to raise for it, in the order checked.
Conflicts = Mapping[str, Callable[[], Exception]]
# ExpressionAttributeNames and ExpressionAttributeValues of one write, when its expressions use them.
Names = Mapping[str, str] | None
Values = Mapping[str, Any] | None


class DynamoDbTransaction:
    """Put, Update, Delete and ConditionCheck writes on one table, buffered until `commit`."""

    def __init__(self, table: DynamoDbTable, conflicts: Conflicts | None = None, attempts: int = COMMIT_ATTEMPTS):
        self._table = table
        self._conflicts = dict(conflicts or {})
        self._attempts = attempts
        self._writes: list[tuple[str, dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self._writes)

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self._writes]

    def clear(self) -> None:
        self._writes = []

    def put(
        self,
        kind: str,
        item: Mapping[str, Any],
        condition: str | None = None,
        names: Names = None,
        values: Values = None,
    ) -> None:
        self._add(kind, "Put", {"Item": dict(item)}, condition, names, values)

    def update(
        self,
        kind: str,
        key: Mapping[str, Any],
        update: str,
        condition: str | None = None,
        names: Names = None,
        values: Values = None,
    ) -> None:
        self._add(kind, "Update", {"Key": dict(key), "UpdateExpression": update}, condition, names, values)

    def delete(
        self,
        kind: str,
        key: Mapping[str, Any],
        condition: str | None = None,
        names: Names = None,
        values: Values = None,
    ) -> None:
        self._add(kind, "Delete", {"Key": dict(key)}, condition, names, values)

    def condition_check(
        self, kind: str, key: Mapping[str, Any], condition: str, names: Names = None, values: Values = None
    ) -> None:
        self._add(kind, "ConditionCheck", {"Key": dict(key)}, condition, names, values)

    def _add(
        self, kind: str, operation: str, body: dict[str, Any], condition: str | None, names: Names, values: Values
    ) -> None:
        write: dict[str, Any] = {"TableName": self._table.table, **body}
        if condition:
            write["ConditionExpression"] = condition
        if names:
            write["ExpressionAttributeNames"] = dict(names)
        if values:
            write["ExpressionAttributeValues"] = dict(values)
        self._writes.append((kind, {operation: write}))

    def commit(self, on_retry: Callable[[], None] | None = None) -> None:
        """Send the buffer as one TransactWriteItems, retrying cancellations that are not conflicts.

        `on_retry` runs after each cancelled attempt (the last one too) and may rewrite the buffer
        (`clear`, then add again) for the next.
        Nothing buffered: nothing sent. The buffer is kept, so call `clear` before reusing the object.
        """
        for attempt in range(self._attempts):
            if not self._writes:
                return
            if len(self._writes) > MAX_TRANSACT_ITEMS:
                raise ValueError(f"{len(self._writes)} writes do not fit in one DynamoDB transaction")
            try:
                call(
                    self._table.client.transact_write_items,
                    TransactItems=[write for _, write in self._writes],
                    ClientRequestToken=str(uuid.uuid4()),
                )
                return
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                self._raise_conflict(exc)
            time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
            if on_retry is not None:
                on_retry()
        raise BackendUnavailable("dynamodb")

    def _raise_conflict(self, exc: ClientError) -> None:
        reasons = exc.response.get("CancellationReasons") or []
        failed = {
            self._writes[i][0]
            for i, reason in enumerate(reasons)
            if i < len(self._writes) and reason.get("Code") == "ConditionalCheckFailed"
        }
        for kind, error in self._conflicts.items():
            if kind in failed:
                raise error()
