"""What every context's DynamoDB adapter builds on: a table on the process's client, the codecs,
a paged Query with an opaque cursor, and the TTL helpers.

The client itself, its time bounds and how its failures become BackendUnavailable are in
adapters/dynamodb/client.py; buffered TransactWriteItems in adapters/dynamodb/transaction.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Self

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from adapters.dynamodb.client import DynamoDbSettings, call, make_client
from domain.shared import InvalidCursor, utc

# -- values ---------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_ms(dt: datetime) -> int:
    return (utc(dt) - EPOCH) // ONE_MS


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * ONE_MS


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any, name: str, float_fields: frozenset[str]) -> Any:
    if isinstance(value, Decimal):
        if name in float_fields or value != value.to_integral_value():
            return float(value)
        return int(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v, k, float_fields) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v, "", float_fields) for v in value]
    return value


def serialize(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values (floats included) to an item of attribute values."""
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in plain.items()}


def serialize_value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(_to_dynamo(value))


def deserialize(item: Mapping[str, Any], float_fields: frozenset[str] = frozenset()) -> dict[str, Any]:
    """An item back to plain values. DynamoDB numbers come back as Decimal: whole ones become int,
    others float, and the attributes named in `float_fields` stay floats even when whole.
    """
    return {k: _from_dynamo(_deserializer.deserialize(v), k, float_fields) for k, v in item.items()}


# -- expiry (TTL) ---------------------------------------------------------------------------------

# DynamoDB deletes an item some time after its `ttl` (epoch seconds) passes, up to days late: the
# exact expiry is kept beside it in milliseconds, and reads filter on that.
TTL_ATTRIBUTE = "ttl"
EXPIRES_AT_ATTRIBUTE = "expires_at"


def expiry_attributes(expires_at: datetime) -> dict[str, int]:
    """`expires_at` (ms) and `ttl` (s, rounded up: DynamoDB must never delete early) for an item."""
    ms = to_ms(expires_at)
    return {EXPIRES_AT_ATTRIBUTE: ms, TTL_ATTRIBUTE: -(-ms // 1000)}


def unexpired_filter(now: datetime, placeholder: str = ":now") -> tuple[str, dict[str, Any]]:
    """A FilterExpression that drops the rows DynamoDB has not deleted yet, and its value."""
    return f"{EXPIRES_AT_ATTRIBUTE} > {placeholder}", {placeholder: {"N": str(to_ms(now))}}


def is_expired(plain: Mapping[str, Any], now: datetime) -> bool:
    """For a row read by key (GetItem has no filter): past its exact expiry, whatever DynamoDB kept."""
    expires = plain.get(EXPIRES_AT_ATTRIBUTE)
    return expires is not None and expires <= to_ms(now)


# -- paging ---------------------------------------------------------------------------------------

MAX_CURSOR_LENGTH = 1024
_SCALAR_TYPES = frozenset({"S", "N"})


@dataclass(frozen=True)
class StartKey:
    """How a Query's LastEvaluatedKey travels to a client and back as an opaque cursor.

    `attributes` are the key attributes the cursor carries, with their types ("S" or "N"), in a
    fixed order; the ones the Query pins (its partition key) are not carried but filled in from
    `fixed` on the way back, so a crafted cursor cannot move a Query to another partition.
    """

    attributes: tuple[tuple[str, str], ...]

    def encode(self, last_evaluated_key: Mapping[str, Any]) -> str:
        values = [last_evaluated_key[name][kind] for name, kind in self.attributes]
        text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, token: str, fixed: Mapping[str, Any] | None = None, field_name: str = "cursor") -> dict[str, Any]:
        values = _decode_values(token, field_name)
        if len(values) != len(self.attributes):
            raise InvalidCursor(field_name)
        key: dict[str, Any] = {}
        for (name, kind), value in zip(self.attributes, values, strict=True):
            if kind not in _SCALAR_TYPES or not isinstance(value, str) or (kind == "N" and not _is_number(value)):
                raise InvalidCursor(field_name)
            key[name] = {kind: value}
        key.update(fixed or {})
        return key


def _decode_values(token: str, field_name: str) -> list[Any]:
    if not token or len(token) > MAX_CURSOR_LENGTH or not token.isascii():
        raise InvalidCursor(field_name)
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidCursor(field_name) from None
    if not isinstance(values, list):
        raise InvalidCursor(field_name)
    return values


def _is_number(text: str) -> bool:
    digits = text.removeprefix("-")
    return 0 < len(digits) <= 38 and digits.isascii() and digits.isdigit()


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    cursor: str | None  # None: nothing after this page


# -- the table ------------------------------------------------------------------------------------


class DynamoDbTable:
    """One table on the process's client; one per process, shared by every unit of work.

    A context subclasses it with its table's `NAME` (what follows the configured prefix).
    """

    NAME: ClassVar[str]

    def __init__(self, client, table_name: str):
        self.client = client
        self.table = table_name

    @classmethod
    def from_settings(cls, settings: DynamoDbSettings | Mapping[str, Any] | None) -> Self:
        if not isinstance(settings, DynamoDbSettings):
            settings = DynamoDbSettings.from_settings(settings)
        return cls(make_client(settings), f"{settings.table_prefix}{cls.NAME}")

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """GetItem, strongly consistent."""
        answer = call(self.client.get_item, TableName=self.table, Key=dict(key), ConsistentRead=True)
        return answer.get("Item")

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return call(self.client.query, TableName=self.table, **kwargs)

    def query_all(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item the Query matches, following LastEvaluatedKey (for partitions known to be small)."""
        while True:
            answer = self.query(**kwargs)
            yield from answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def query_page(
        self,
        start_key: StartKey,
        limit: int,
        cursor: str | None = None,
        fixed: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Page:
        """One Query of at most `limit` items, resumed from `cursor` (raises InvalidCursor, a 400, when
        it is malformed); the page's cursor encodes the LastEvaluatedKey. A page may hold fewer items
        than `limit` and still have a cursor (a FilterExpression drops rows after the Limit).
        """
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = start_key.decode(cursor, fixed)
        answer = self.query(Limit=limit, **kwargs)
        last = answer.get("LastEvaluatedKey")
        return Page(answer.get("Items", []), None if last is None else start_key.encode(last))
