"""The web client's files at /app and its development sign-in, which only the demo profiles answer."""

from __future__ import annotations

import jwt
import pytest

from entrypoints.demo import DEMO_USERS
from entrypoints.http.app import create_app
from tests.unit.auth.keys import SECRET

# Unreachable backends: the refusal must not need them, and nothing may be minted there.
SERVER_SETTINGS = {
    "auth": "jwt",
    "jwt_secret": SECRET,
    "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none",
    "dynamodb_endpoint_url": "http://127.0.0.1:1",
}


@pytest.fixture(scope="module")
def client():
    return create_app({"profile": "memory", "auth": "jwt", "jwt_secret": SECRET, "grants": "open"}).test_client()


def test_the_page_and_its_modules_are_served(client):
    page = client.get("/app/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'src="/app/js/main.js"' in page.data
    for module in ("main", "socket", "api", "dom", "forum", "chat", "dm", "live"):
        answer = client.get(f"/app/js/{module}.js")
        assert answer.status_code == 200 and "javascript" in answer.mimetype, module
    assert client.get("/app/app.css").mimetype == "text/css"


@pytest.mark.parametrize("path", ["/app/../setup.cfg", "/app/%2e%2e/setup.cfg", "/app/js/nothing.js"])
def test_nothing_outside_the_static_folder_is_served(client, path):
    assert client.get(path).status_code == 404


def test_a_demo_user_signs_in_with_a_token_the_api_accepts(client):
    answer = client.post("/app/dev-sign-in", json={"user_id": 2})
    assert answer.status_code == 201
    data = answer.get_json()["data"]
    assert data["user"] == {"user_id": "2", "handle": "grace", "display_name": "Grace Hopper", "role": "trainer"}
    assert jwt.decode(data["token"], SECRET, algorithms=["HS256"])["sub"] == "2"
    notifications = client.get("/forum/notifications", headers={"Authorization": f"Bearer {data['token']}"})
    assert notifications.status_code == 200


def test_the_picker_lists_the_demo_users(client):
    listed = client.get("/app/dev-sign-in").get_json()
    assert [u["user_id"] for u in listed] == [str(u.user_id) for u in DEMO_USERS]


@pytest.mark.parametrize("body", [{"user_id": 99}, {"user_id": "abc"}, {"user_id": True}, {"user_id": -1}, {}, [1]])
def test_anyone_but_a_demo_user_is_refused(client, body):
    answer = client.post("/app/dev-sign-in", json=body)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"]["user_id"] == ["one of 1, 2, 3"]
    assert "token" not in answer.get_data(as_text=True)


def test_a_body_that_is_not_json_is_refused_too(client):
    answer = client.post("/app/dev-sign-in", data="user_id=1", content_type="text/plain")
    assert answer.status_code == 422


@pytest.mark.parametrize("profile", ["postgres", "algorea", "aws"])
def test_server_profiles_have_no_development_sign_in(profile):
    client = create_app({"profile": profile, **SERVER_SETTINGS}).test_client()
    for answer in (client.post("/app/dev-sign-in", json={"user_id": 1}), client.get("/app/dev-sign-in")):
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == "not_found"
        assert "token" not in answer.get_json().get("data", {})
    assert client.get("/app/").status_code == 200  # the page itself works with a pasted token


def test_no_signing_key_means_no_sign_in():
    client = create_app({"profile": "memory", "auth": "dev"}).test_client()
    assert client.post("/app/dev-sign-in", json={"user_id": 1}).status_code == 404
