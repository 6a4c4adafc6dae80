"""What a context's blueprint gets from entrypoints/http/blueprint.py: the `<id64:…>` converter,
the envelope for refused arguments and for flask-smorest's `abort`, and its operations in the
document. A small "rooms" blueprint stands in for a new context."""

from __future__ import annotations

import flask_smorest
import pytest
from flask import g
from marshmallow import Schema, fields, validate

from container import Container
from entrypoints.http.app import create_app
from entrypoints.http.arguments import check_before_refusing
from entrypoints.http.blueprint import Blueprint
from entrypoints.http.common import created
from entrypoints.http.openapi import api_for
from entrypoints.http.schemas import Out, StrictSchema, write_envelope
from tests.unit.http.test_forum_api import assert_error


class CommentBody(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=10))


class Comment(Out):
    room_id = fields.String(required=True)
    text = fields.String(required=True)


rooms = Blueprint("rooms", __name__, url_prefix="/rooms")


@rooms.post("/<id64:room_id>/comments")
@check_before_refusing(lambda room_id: room_id != 13 or flask_smorest.abort(403, message="not a member"))
@rooms.arguments(CommentBody)
@rooms.response(201, write_envelope("CommentCreated", Comment, ("created",)))
@rooms.errors(404)
def add_comment(body: dict, room_id: int):
    """Add a comment to a room"""
    if room_id == 404:
        flask_smorest.abort(404, message="no such room", errors={"room_id": ["unknown"]})
    if body["text"] == "taken":
        flask_smorest.abort(422, message="said already")
    return created({"room_id": str(room_id), "text": body["text"], "by": str(g.actor.user_id)})


class LimitQuery(Schema):
    limit = fields.Integer(validate=validate.Range(min=1, max=5))


# A blueprint of flask-smorest itself, with webargs' own parser and its 422 for a refused argument.
plain = flask_smorest.Blueprint("plain", __name__, url_prefix="/plain")


@plain.get("/")
@plain.arguments(LimitQuery, location="query")
@plain.response(200)
def plain_list(query: dict):
    return {"limit": query.get("limit")}


@pytest.fixture
def client():
    container = Container()
    app = create_app({"profile": "memory", "auth": "dev", "grants": "open"}, container)
    api_for(app).register_blueprint(rooms)
    api_for(app).register_blueprint(plain)
    yield app.test_client()
    container.unwire()


ME = {"X-Parley-User": "7"}


def test_an_id64_segment_reaches_the_view_as_an_int_and_the_reply_is_sent_as_rendered(client):
    r = client.post("/rooms/12/comments", headers=ME, json={"text": "hi"})
    assert r.status_code == 201
    # `by` is not in the schema: the view's JSON is sent as it rendered it, never dumped through it.
    assert r.get_json() == {"success": True, "message": "created", "data": {"room_id": "12", "text": "hi", "by": "7"}}


@pytest.mark.parametrize("segment", ["0", "abc", "-3", "99999999999999999999", "1.5", "٣"])
def test_a_malformed_id64_segment_is_a_400_naming_it(client, segment):
    r = client.post(f"/rooms/{segment}/comments", headers=ME, json={"text": "hi"})
    assert_error(r, 400, "invalid_request", "room_id")
    assert r.get_json()["error"]["details"] == {"room_id": ["must be a positive 64-bit integer"]}


def test_credentials_are_checked_before_the_path(client):
    assert_error(client.post("/rooms/abc/comments", json={"text": "hi"}), 401, "unauthenticated")


def test_refused_arguments_are_our_400_with_field_details(client):
    r = client.post("/rooms/12/comments", headers=ME, json={"text": "x" * 11, "extra": 1})
    assert_error(r, 400, "invalid_request")
    assert set(r.get_json()["error"]["details"]) == {"text", "extra"}
    assert_error(client.post("/rooms/12/comments", headers=ME, data="{", content_type="application/json"), 400,
                 field="body")
    assert_error(client.post("/rooms/12/comments", headers=ME, data="text=hi"), 415, "unsupported_media_type")


def test_a_check_before_refusing_answers_first(client):
    r = client.post("/rooms/13/comments", headers=ME, json={"bogus": True})
    assert_error(r, 403, "forbidden")
    assert r.get_json()["message"] == "not a member"


def test_flask_smorest_abort_answers_the_envelope(client):
    r = client.post("/rooms/404/comments", headers=ME, json={"text": "hi"})
    assert r.status_code == 404
    assert r.get_json() == {
        "success": False, "message": "no such room",
        "error": {"code": "not_found", "details": {"room_id": ["unknown"]}},
    }
    r = client.post("/rooms/12/comments", headers=ME, json={"text": "taken"})
    assert r.get_json() == {"success": False, "message": "said already",
                            "error": {"code": "invalid_value", "details": {}}}
    assert r.status_code == 422


def test_webargs_own_422_becomes_our_400(client):
    r = client.get("/plain/?limit=9")
    assert r.status_code == 400
    assert r.get_json() == {
        "success": False, "message": "invalid input",
        "error": {"code": "invalid_request", "details": {"limit": ["Must be greater than or equal to 1 and less than "
                                                                   "or equal to 5."]}},
    }


def test_the_context_is_documented_from_its_views(client):
    spec = client.get("/openapi.json").get_json()
    op = spec["paths"]["/rooms/{room_id}/comments"]["post"]
    assert op["summary"] == "Add a comment to a room"
    assert op["security"] == [{"bearer": []}, {"devUser": []}]
    assert {"201", "400", "401", "403", "404", "413", "415", "422", "429", "503"} == set(op["responses"])
    assert op["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }
    [room_id] = [p for p in op["parameters"] if p["in"] == "path"]
    assert room_id["name"] == "room_id" and room_id["schema"]["pattern"] == r"^[1-9][0-9]{0,18}$"
