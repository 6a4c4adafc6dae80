"""Hostile client input through Flask's test client: every case a 4xx with the error envelope.

The same cases run against real servers on SQLite, PostgreSQL and DynamoDB in
tests/integration/test_client_input.py; the memory profile here cannot overflow, so these check
that the API refuses the input itself rather than leaving it to a store.
"""

from __future__ import annotations

import base64

import pytest

from domain.shared import MAX_ID
from tests.unit.http.test_forum_api import LEARNER, THREAD, as_user, assert_error, open_thread, post

WS_UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket"}
WS_KEY = base64.b64encode(b"0123456789abcdef").decode()


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path, field",
    [
        (f"{THREAD}/events?after=ZTEuOTk5OTk5OTk5OTk5OTk5OTk5OQ", "after"),  # the red team's example
        (f"{THREAD}/events?after={token(f'e1.{MAX_ID + 1}')}", "after"),
        (f"{THREAD}/messages?before={token(f'e1.{MAX_ID + 1}')}", "before"),
        (f"/forum/threads?is_mine=1&from={token(f'k1|2020-01-01T00:00:00+00:00|{MAX_ID + 1}|7')}", "from"),
    ],
)
def test_cursors_past_signed_64_bits_are_400(client, path, field):
    assert_error(client.get(path, headers=as_user(LEARNER)), 400, "invalid_cursor", field)


def test_a_cursor_at_the_last_signed_64_bit_value_is_accepted(client):
    open_thread(client)
    r = client.get(f"{THREAD}/events?after={token(f'e1.{MAX_ID}')}", headers=as_user(LEARNER))
    assert r.status_code == 200 and r.get_json() == []


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00"])
def test_latest_update_gt_outside_utc_dates_is_400(client, when):
    r = client.get(f"/forum/threads?is_mine=1&latest_update_gt={when}", headers=as_user(LEARNER))
    assert_error(r, 400, "invalid_request", "latest_update_gt")


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_from_cursor_outside_utc_dates_is_400(client, when):
    r = client.get(f"/forum/threads?is_mine=1&from={token(f'k1|{when}|1|7')}", headers=as_user(LEARNER))
    assert_error(r, 400, "invalid_cursor", "from")


def test_latest_update_gt_with_an_offset_filters_in_utc(client, clock):
    open_thread(client)
    updated = client.get("/forum/threads?is_mine=1", headers=as_user(LEARNER)).get_json()[0]["latest_update_at"]
    hour_before_in_plus_one = updated.replace("Z", "+01:00")  # the same wall time an hour earlier in UTC
    found = client.get(f"/forum/threads?is_mine=1&latest_update_gt={hour_before_in_plus_one.replace('+', '%2B')}",
                       headers=as_user(LEARNER)).get_json()
    assert [t["latest_update_at"] for t in found] == [updated]


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", f"{THREAD}/messages/%00"),
        ("PUT", f"{THREAD}/messages/a%00b"),
        ("GET", "/forum/items/%00/participant/7/thread"),
        ("DELETE", "/forum/notifications/%00"),
        ("PUT", "/forum/notifications/%00/read"),
        ("GET", f"{THREAD}/events?after=%00"),
        ("GET", f"{THREAD}/events?%00=1"),
        ("GET", "/forum/threads?is_mine=1&status=waiting_for_trainer%00"),
        ("GET", "/forum/notifications?before=%00"),
        ("GET", "/ws?user=%00"),
    ],
)
def test_nul_anywhere_in_the_url_is_400_and_changes_nothing(client, method, path):
    open_thread(client)
    assert post(client, uuid="a").status_code == 201
    before = client.get(f"{THREAD}/events", headers=as_user(LEARNER)).get_json()
    r = client.open(path, method=method, headers=as_user(LEARNER), json={"text": "edited"})
    assert_error(r, 400, "invalid_request")
    assert client.get(f"{THREAD}/events", headers=as_user(LEARNER)).get_json() == before


@pytest.mark.parametrize(
    "headers, status, field",
    [
        ({}, 400, "Sec-WebSocket-Version"),
        ({"Sec-WebSocket-Key": WS_KEY}, 400, "Sec-WebSocket-Version"),
        ({"Sec-WebSocket-Version": "13"}, 400, "Sec-WebSocket-Key"),
        ({"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "not base64!"}, 400, "Sec-WebSocket-Key"),
        ({"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": base64.b64encode(b"short").decode()}, 400,
         "Sec-WebSocket-Key"),
        ({"Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": WS_KEY}, 426, "Sec-WebSocket-Version"),
    ],
)
def test_a_malformed_websocket_upgrade_is_refused_with_the_envelope(client, headers, status, field):
    r = client.get("/ws?user=7", headers={**WS_UPGRADE, **headers})
    assert_error(r, status, field=field)
    if status == 426:
        assert r.headers["Sec-WebSocket-Version"] == "13"


@pytest.mark.parametrize("limit", ["%D9%A1", "%C2%B2", "1e9", "1000000000", "+5", "%205", "-1", "9" * 5000])
@pytest.mark.parametrize("path", [f"{THREAD}/events", f"{THREAD}/messages", "/forum/threads?is_mine=1",
                                  "/forum/notifications"])
def test_a_limit_that_is_not_plain_ascii_digits_in_range_is_400(client, path, limit):
    sep = "&" if "?" in path else "?"
    assert_error(client.get(f"{path}{sep}limit={limit}", headers=as_user(LEARNER)), 400, field="limit")


@pytest.mark.parametrize("uuid", ["a" * 65, "a" * 5000, "%C3%A9", "a%20b", "%ED%A0%80"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_message_uuid_in_the_path_that_no_post_accepts_is_400(client, method, uuid):
    open_thread(client)
    r = client.open(f"{THREAD}/messages/{uuid}", method=method, headers=as_user(LEARNER), json={"text": "x"})
    assert_error(r, 400, "invalid_request", "uuid")


def test_a_well_formed_unknown_message_uuid_is_still_404(client):
    open_thread(client)
    assert_error(client.delete(f"{THREAD}/messages/{'a' * 64}", headers=as_user(LEARNER)), 404, "not_found")
