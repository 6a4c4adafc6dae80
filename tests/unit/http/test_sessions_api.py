"""The /sessions endpoints and session-bound tokens over HTTP (issue 16), on the memory profile."""

from __future__ import annotations

import jwt
import pytest

from adapters.auth.jwt import DevTokenMinter, JwtSettings
from container import Container
from entrypoints.http.app import create_app
from tests.unit.fakes import FakeClock

SECRET = "s" * 40
ADMIN = {"X-Parley-Scopes": "sessions:admin"}


def as_user(uid, **extra):
    return {"X-Parley-User": str(uid), **extra}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def create(client, uid=7, **kwargs):
    response = client.post("/sessions", headers=as_user(uid), **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def test_a_session_token_works_until_its_session_ends(client):
    data = create(client)
    assert data["customer_id"] == "7" and data["session_state"] == "active"
    token = data["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["sid"] == data["id"]
    assert client.get(f"/sessions/{data['id']}", headers=bearer(token)).status_code == 200
    assert client.get("/forum/notifications", headers=bearer(token)).status_code == 200

    ended = client.delete(f"/sessions/{data['id']}", headers=bearer(token))
    assert ended.status_code == 200
    assert ended.get_json() == {"success": True, "message": "deleted",
                                "data": {"id": data["id"], "session_state": "closing"}}
    refused = client.get("/forum/notifications", headers=bearer(token))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthenticated"
    assert "session has ended" in refused.get_json()["message"]
    assert client.get(f"/sessions/{data['id']}", headers=as_user(7)).status_code == 404


def test_renewing_gives_a_fresh_token_and_moves_the_idle_deadline(client, clock: FakeClock):
    data = create(client)
    clock.advance(minutes=4)
    renewed = client.post(f"/sessions/{data['id']}/token", headers=bearer(data["access_token"]))
    assert renewed.status_code == 201
    fresh = renewed.get_json()["data"]
    assert fresh["access_token"] != data["access_token"] and fresh["expires_at"] > data["expires_at"]
    clock.advance(minutes=4)  # the first token (5 min) is past its exp, the fresh one is not
    assert client.get("/forum/notifications", headers=bearer(data["access_token"])).status_code == 401
    assert client.get("/forum/notifications", headers=bearer(fresh["access_token"])).status_code == 200


def test_an_idle_session_is_gone(client, clock: FakeClock):
    data = create(client)
    clock.advance(minutes=31)
    assert client.get(f"/sessions/{data['id']}", headers=as_user(7)).status_code == 404
    assert client.post(f"/sessions/{data['id']}/token", headers=as_user(7)).status_code == 404
    assert client.get("/sessions", headers=as_user(7)).get_json() == []


def test_a_user_sees_and_ends_only_their_own_sessions(client):
    data = create(client, uid=7)
    for method, path in (("get", ""), ("delete", ""), ("post", "/token"), ("get", "/children")):
        response = getattr(client, method)(f"/sessions/{data['id']}{path}", headers=as_user(8))
        assert response.status_code == 404, (method, path)
    assert client.get("/sessions?customer_id=7", headers=as_user(8)).status_code == 403
    assert client.post("/sessions", headers=as_user(8), json={"customer_id": "7"}).status_code == 403
    assert client.get("/sessions/last-login?customer_id=7", headers=as_user(8)).status_code == 403
    assert [s["id"] for s in client.get("/sessions", headers=as_user(7)).get_json()] == [data["id"]]
    assert client.get("/sessions", headers=as_user(8)).get_json() == []


def test_the_admin_scope_acts_for_any_customer(client):
    made = client.post("/sessions", headers=ADMIN, json={"customer_id": "42"})
    assert made.status_code == 201 and made.get_json()["data"]["customer_id"] == "42"
    sid = made.get_json()["data"]["id"]
    listed = client.get("/sessions?customer_id=42", headers=ADMIN).get_json()
    assert [s["id"] for s in listed] == [sid] and listed[0]["cursor"] == sid
    assert client.get("/sessions/ids?customer_id=42", headers=ADMIN).get_json() == [{"id": sid, "cursor": sid}]
    last = client.get("/sessions/last-login?customer_id=42", headers=ADMIN).get_json()
    assert last == {"customer_id": "42", "last_login_time": made.get_json()["data"]["last_login_time"]}
    assert client.post("/sessions", headers=ADMIN).status_code == 403, "a service names its customer"
    assert client.delete(f"/sessions/{sid}", headers=ADMIN).status_code == 200


def test_children_end_with_their_session(client):
    data = create(client)
    child = client.post(f"/sessions/{data['id']}/children", headers=as_user(7), json={"label": "tab"})
    assert child.status_code == 201
    child_id = child.get_json()["data"]["id"]
    assert client.get(f"/sessions/by-child/{child_id}", headers=as_user(7)).get_json()["id"] == data["id"]
    assert [c["id"] for c in client.get(f"/sessions/{data['id']}/children", headers=as_user(7)).get_json()] == [
        child_id
    ]
    assert client.get(f"/sessions/{data['id']}", headers=as_user(7)).get_json()["child_session_ids"] == [child_id]
    assert client.delete(f"/sessions/{data['id']}", headers=as_user(7)).status_code == 200
    assert client.get(f"/sessions/by-child/{child_id}", headers=as_user(7)).status_code == 404


def test_the_last_login_is_the_latest(client, clock: FakeClock):
    create(client)
    clock.advance(minutes=3)
    latest = create(client)["last_login_time"]
    assert client.get("/sessions/last-login", headers=as_user(7)).get_json()["last_login_time"] == latest
    assert client.get("/sessions/last-login", headers=as_user(9)).get_json()["last_login_time"] is None


@pytest.mark.parametrize(
    "method, path, kwargs, status, field",
    [
        ("get", "/sessions/not-a-session", {}, 400, "session_id"),
        ("get", "/sessions/by-child/xyz", {}, 400, "child_id"),
        ("post", "/sessions", {"json": {"customer_id": "0"}}, 400, "customer_id"),
        ("post", "/sessions", {"json": {"surprise": 1}}, 400, "surprise"),
        ("post", "/sessions", {"json": ["x"]}, 400, "body"),
        ("post", "/sessions", {"data": "{nope", "content_type": "application/json"}, 400, "body"),
        ("post", "/sessions", {"data": "x", "content_type": "text/plain"}, 415, "Content-Type"),
        ("get", "/sessions?limit=0", {}, 400, "limit"),
        ("get", "/sessions?limit=1&limit=2", {}, 400, "limit"),
        ("get", "/sessions?before=zz", {}, 400, "before"),
    ],
)
def test_bad_input_is_a_clear_4xx_in_the_envelope(client, method, path, kwargs, status, field):
    response = getattr(client, method)(path, headers=as_user(7), **kwargs)
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["success"] is False and field in body["error"]["details"]


def test_a_child_label_is_checked(client):
    data = create(client)
    response = client.post(f"/sessions/{data['id']}/children", headers=as_user(7), json={"label": "a\nb"})
    assert response.status_code == 400 and "label" in response.get_json()["error"]["details"]


def test_every_endpoint_needs_credentials(client):
    assert client.post("/sessions").status_code == 401
    assert client.get("/sessions").status_code == 401


# -- with JWT authentication: plain tokens keep working, forged session tokens do not -------------


@pytest.fixture
def jwt_app(clock):
    container = Container()
    container.core.clock.override(clock)
    app = create_app({"profile": "memory", "auth": "jwt", "jwt_secret": SECRET}, container)
    yield app
    container.unwire()


def test_plain_jwts_keep_working_beside_session_tokens(jwt_app, clock):
    client = jwt_app.test_client()
    plain = DevTokenMinter(JwtSettings.from_settings({"jwt_secret": SECRET}), clock).mint(7)
    made = client.post("/sessions", headers=bearer(plain))
    assert made.status_code == 201
    data = made.get_json()["data"]
    assert client.get("/forum/notifications", headers=bearer(data["access_token"])).status_code == 200
    assert client.delete(f"/sessions/{data['id']}", headers=bearer(plain)).status_code == 200
    assert client.get("/forum/notifications", headers=bearer(data["access_token"])).status_code == 401
    assert client.get("/forum/notifications", headers=bearer(plain)).status_code == 200


def test_a_session_token_signed_with_another_key_is_refused(jwt_app, clock):
    client = jwt_app.test_client()
    data = client.post("/sessions", headers=bearer(
        DevTokenMinter(JwtSettings.from_settings({"jwt_secret": SECRET}), clock).mint(7))).get_json()["data"]
    claims = jwt.decode(data["access_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "8"}, "x" * 40, algorithm="HS256")
    assert client.get("/forum/notifications", headers=bearer(forged)).status_code == 401
    unknown = jwt.encode({**claims, "sid": "0" * 32}, SECRET, algorithm="HS256")
    assert client.get("/forum/notifications", headers=bearer(unknown)).status_code == 401


def test_responses_match_the_openapi_document(client):
    from tests.unit.http.test_openapi import assert_conforms

    spec = client.get("/openapi.json").get_json()
    made = client.post("/sessions", headers=as_user(7))
    assert_conforms(spec, "/sessions", "post", made)
    sid = made.get_json()["data"]["id"]
    child = client.post(f"/sessions/{sid}/children", headers=as_user(7), json={"label": "tab"})
    assert_conforms(spec, "/sessions/{session_id}/children", "post", child)
    child_id = child.get_json()["data"]["id"]
    cases = [
        ("/sessions", "get", client.get("/sessions", headers=as_user(7))),
        ("/sessions/ids", "get", client.get("/sessions/ids", headers=as_user(7))),
        ("/sessions/last-login", "get", client.get("/sessions/last-login", headers=as_user(7))),
        ("/sessions/{session_id}", "get", client.get(f"/sessions/{sid}", headers=as_user(7))),
        ("/sessions/{session_id}/children", "get", client.get(f"/sessions/{sid}/children", headers=as_user(7))),
        ("/sessions/by-child/{child_id}", "get", client.get(f"/sessions/by-child/{child_id}", headers=as_user(7))),
        ("/sessions/{session_id}/token", "post", client.post(f"/sessions/{sid}/token", headers=as_user(7))),
        ("/sessions/{session_id}", "delete", client.delete(f"/sessions/{sid}", headers=as_user(7))),
        ("/sessions/{session_id}", "get", client.get(f"/sessions/{sid}", headers=as_user(7))),  # 404
        ("/sessions", "post", client.post("/sessions", headers=as_user(7), data="x", content_type="text/plain")),
    ]
    assert [r.status_code for *_, r in cases] == [200] * 6 + [201, 200, 404, 415]
    for path, method, response in cases:
        assert_conforms(spec, path, method, response)


@pytest.mark.parametrize(
    "setting, value",
    [("session_idle_seconds", "soon"), ("session_max_seconds", "0"), ("session_cache_seconds", "60"),
     ("session_token_seconds", "5")],
)
def test_a_bad_session_setting_stops_the_start(setting, value):
    container = Container()
    with pytest.raises(ValueError, match=f"PARLEY_{setting.upper()}"):
        create_app({"profile": "memory", "auth": "dev", setting: value}, container)
    container.unwire()
