"""What the page says when the server refuses: a busy server (429) and a backend that is down
(503) each come back as a clear message with the wait the server asked for. (The server's own
429 and 503 are tested in tests/integration; here the browser is handed them, to test the page.)"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import sync_api

expect = sync_api.expect


@pytest.mark.parametrize(
    "status, code, text",
    [
        (429, "rate_limited", "Too many requests (429): slow down. Try again in 7 s."),
        (503, "backend_unavailable", "Service unavailable (503): the database is unreachable. Try again in 7 s."),
    ],
)
def test_refusals_are_said_plainly(window, status, code, text):
    page = window(1, "chat")
    message = {"rate_limited": "slow down", "backend_unavailable": "the database is unreachable"}[code]
    body = {"success": False, "message": message, "error": {"code": code, "details": {}}}
    page.route("**/chat/rooms/*/membership", lambda route: route.fulfill(
        status=status, headers={"Retry-After": "7"}, content_type="application/json", body=json.dumps(body)))
    chat = page.get_by_role("region", name="Chat")
    chat.get_by_label("Room", exact=True).fill("anywhere")
    chat.get_by_role("button", name="Join").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text)
    page.get_by_role("button", name="Dismiss the message").press("Enter")
    expect(alert).to_be_hidden()
