"""The generic DynamoDB helpers that need no server: codecs, expiry, the Query cursor."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.dynamodb.base import (
    StartKey,
    deserialize,
    expiry_attributes,
    from_ms,
    is_expired,
    serialize,
    to_ms,
    unexpired_filter,
)
from domain.shared import InvalidCursor

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ROOM_PAGE = StartKey((("SK", "S"), ("CreatedAt", "N")))


def test_milliseconds_round_trip():
    moment = T0 + timedelta(milliseconds=7)
    assert from_ms(to_ms(moment)) == moment
    assert to_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_codecs_round_trip_numbers_as_int_and_float():
    item = serialize({"PK": "A", "n": 3, "f": 2.5, "whole": 2.0, "nested": {"score": 4.0, "k": [1, 1.5]}})
    assert item["f"] == {"N": "2.5"}
    assert deserialize(item) == {"PK": "A", "n": 3, "f": 2.5, "whole": 2, "nested": {"score": 4, "k": [1, 1.5]}}
    kept = deserialize(item, float_fields=frozenset({"whole", "score"}))
    assert type(kept["whole"]) is float and type(kept["nested"]["score"]) is float


def test_expiry_keeps_the_exact_time_and_never_lets_dynamodb_delete_early():
    expires = T0 + timedelta(milliseconds=1)
    attributes = expiry_attributes(expires)
    assert attributes == {"expires_at": to_ms(expires), "ttl": to_ms(T0) // 1000 + 1}
    assert attributes["ttl"] * 1000 >= attributes["expires_at"]
    assert expiry_attributes(T0)["ttl"] * 1000 == to_ms(T0)


def test_expired_rows_are_filtered_on_read():
    expression, values = unexpired_filter(T0)
    assert expression == "expires_at > :now" and values == {":now": {"N": str(to_ms(T0))}}
    row = {"expires_at": to_ms(T0)}
    assert is_expired(row, T0) and is_expired(row, T0 + timedelta(seconds=1))
    assert not is_expired(row, T0 - timedelta(milliseconds=1))
    assert not is_expired({}, T0)


def test_a_cursor_carries_the_last_evaluated_key_but_not_the_pinned_partition():
    last = {"PK": {"S": "ROOM#1"}, "SK": {"S": "COMMENT#a|b é"}, "CreatedAt": {"N": "1767268800000"}}
    cursor = ROOM_PAGE.encode(last)
    assert "ROOM" not in cursor and cursor.isascii()
    assert ROOM_PAGE.decode(cursor, fixed={"PK": {"S": "ROOM#1"}}) == last
    # Another partition cannot be reached with a crafted cursor: the query's own partition wins.
    assert ROOM_PAGE.decode(cursor, fixed={"PK": {"S": "ROOM#2"}})["PK"] == {"S": "ROOM#2"}


def _token(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 !",
        "x" * 2000,
        "é",
        _token({"SK": "a"}),  # not a list
        _token(["only one"]),
        _token(["a", "1", "extra"]),
        _token(["a", 1]),  # values are strings, as DynamoDB sends them
        _token(["a", "1e5"]),
        _token(["a", ""]),
        _token([{"S": "a"}, "1"]),
    ],
)
def test_a_malformed_cursor_is_invalid_not_a_server_error(token):
    with pytest.raises(InvalidCursor) as caught:
        ROOM_PAGE.decode(token, field_name="before")
    assert list(caught.value.details) == ["before"]
