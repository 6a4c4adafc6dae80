"""The shared kernel's parsing of client input: cursors and times stay inside what every store holds."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.shared import MAX_ID, Cursor, InvalidCursor, InvalidRequest, client_utc, parse_client_time


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("seq", [0, 1, MAX_ID])
def test_a_cursor_round_trips_over_the_whole_signed_64_bit_range(seq):
    assert Cursor.decode(Cursor(seq).encode()) == Cursor(seq)


@pytest.mark.parametrize("body", [str(MAX_ID + 1), "9" * 19, "18446744073709551615"])
@pytest.mark.parametrize("field_name", ["after", "before", "since"])
def test_a_cursor_past_the_signed_64_bit_range_is_malformed(body, field_name):
    with pytest.raises(InvalidCursor) as raised:
        Cursor.decode(token(f"e1.{body}"), field_name)
    assert field_name in raised.value.details


def test_the_red_team_example_cursor_is_malformed():
    assert base64.urlsafe_b64decode("ZTEuOTk5OTk5OTk5OTk5OTk5OTk5OQ==") == b"e1.9999999999999999999"
    with pytest.raises(InvalidCursor):
        Cursor.decode("ZTEuOTk5OTk5OTk5OTk5OTk5OTk5OQ", "after")


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),  # UTC is in year 0
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),  # UTC is in year 10000
    ],
)
def test_a_time_whose_utc_value_is_no_date_is_a_client_error(when):
    with pytest.raises(InvalidRequest) as raised:
        client_utc(when, "latest_update_gt")
    assert "latest_update_gt" in raised.value.details


def test_times_at_the_edges_that_stay_dates_in_utc_are_kept():
    assert client_utc(datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(1, 1, 1, tzinfo=UTC)
    latest = datetime(9999, 12, 31, 22, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-1)))
    assert client_utc(latest) == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2020-01-01T00:00:00", "yesterday", "2020-01-01\x00"],
)
def test_parse_client_time_refuses_what_is_no_utc_time(text):
    with pytest.raises(InvalidRequest):
        parse_client_time(text, "from")


def test_parse_client_time_gives_utc():
    assert parse_client_time("2020-01-01T02:00:00+02:00") == datetime(2020, 1, 1, tzinfo=UTC)
    assert parse_client_time("2020-01-01T00:00:00Z") == datetime(2020, 1, 1, tzinfo=UTC)
