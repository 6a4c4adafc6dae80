"""The OpenAPI document: complete (every route), valid, served without credentials, and true to
what the endpoints answer."""

from __future__ import annotations

import re

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from entrypoints.http.openapi import documented_rules, openapi_path
from tests.unit.forum.test_use_cases import HELPERS, ITEM, LEARNER, STRANGER

THREAD_RULE = "/forum/items/{item_id}/participant/{participant_id}/thread"
THREAD = f"/forum/items/{ITEM}/participant/{LEARNER}/thread"
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"}


def as_user(uid):
    return {"X-Parley-User": str(uid)}


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def _resolve(node, spec):
    """The schema with every local $ref inlined, for a plain JSON-schema validator."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolve(spec["components"]["schemas"][name], spec)
        return {k: _resolve(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, spec) for v in node]
    return node


def assert_conforms(spec, path, method, response):
    """The response's status is documented for the operation and its body matches the schema."""
    operation = spec["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} answered undocumented {status}"
    documented = operation["responses"][status]
    schema = _resolve(documented["content"]["application/json"]["schema"], spec)
    errors = sorted(OAS30Validator(schema).iter_errors(response.get_json()), key=str)
    assert not errors, f"{method.upper()} {path} {status}: {[e.message for e in errors]}"
    for header in documented.get("headers", {}):
        if header in ("Retry-After", "X-Request-Id"):
            assert header in response.headers, f"{header} documented but missing"


def test_every_route_is_documented_with_its_methods(app, spec):
    rules = list(documented_rules(app))
    assert len(rules) >= 20
    for rule, methods in rules:
        path = openapi_path(rule.rule)
        assert path in spec["paths"], f"{rule.rule} ({rule.endpoint}) is missing from the OpenAPI document"
        for method in methods:
            assert method.lower() in spec["paths"][path], f"{method} {path} is missing"
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    routed = {(openapi_path(r.rule), m.lower()) for r, ms in rules for m in ms}
    assert documented == routed, "the document describes routes the app does not have"


def test_the_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_path_parameters_are_declared(spec):
    for path, operations in spec["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, op in operations.items():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}"


def test_query_schemas_and_bodies_come_from_the_marshmallow_schemas(spec):
    threads = {p["name"]: p for p in spec["paths"]["/forum/threads"]["get"]["parameters"]}
    assert threads["limit"]["schema"]["maximum"] == 100 and threads["limit"]["schema"]["default"] == 20
    assert "from" in threads and threads["watched_group_id"]["schema"]["pattern"] == r"^[1-9][0-9]{0,18}$"
    messages = {p["name"]: p for p in spec["paths"][THREAD_RULE + "/messages"]["get"]["parameters"]}
    assert messages["limit"]["schema"]["maximum"] == 20
    body = spec["paths"][THREAD_RULE]["put"]["requestBody"]["content"]["application/json"]["schema"]
    update = _resolve(body, spec)
    assert update["additionalProperties"] is False
    assert set(update["properties"]["status"]["enum"]) == {"waiting_for_participant", "waiting_for_trainer", "closed"}
    post_body = spec["paths"][THREAD_RULE + "/messages"]["post"]["requestBody"]
    post = _resolve(post_body["content"]["application/json"]["schema"], spec)
    assert post["required"] == ["text"]


def test_errors_are_documented_with_the_envelope(spec):
    seen = set()
    for path, operations in spec["paths"].items():
        if path == "/readyz":
            continue
        for op in operations.values():
            for status, response in op["responses"].items():
                if status in ERROR_STATUSES and "content" in response:
                    seen.add(status)
                    # AlgoREA's surface answers AlgoREA's error bodies (docs/algorea.md).
                    envelope = "AlgoreaError" if path.startswith("/algorea/") else "ErrorEnvelope"
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": f"#/components/schemas/{envelope}"
                    }
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"]
    assert seen == ERROR_STATUSES
    post = spec["paths"][THREAD_RULE + "/messages"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(post)
    assert "429" in spec["paths"][THREAD_RULE]["get"]["responses"], "reads are rate limited too (issue 11)"
    assert "429" not in spec["paths"]["/healthz"]["get"]["responses"], "probes are never rate limited"


def test_forum_operations_need_credentials_and_ops_do_not(spec):
    assert spec["paths"][THREAD_RULE]["get"]["security"] == [{"bearer": []}, {"devUser": []}]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert spec["paths"][path]["get"]["security"] == []


def test_documents_are_served_without_credentials(client):
    assert client.get("/openapi.json").status_code == 200
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "openapi.json" in html
    # Offline: every asset comes from this server, none from a CDN.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    for asset in re.findall(r"(?:src|href)=\"([^\"]+)\"", html):
        served = client.get("/" + asset)
        assert served.status_code == 200 and len(served.data) > 1000, asset
    assert client.get("/docs/assets/../../etc/passwd").status_code == 404


def test_real_responses_match_the_documented_schemas(client, spec):
    get = client.get(THREAD, headers=as_user(LEARNER))
    assert_conforms(spec, THREAD_RULE, "get", get)
    opened = client.put(
        THREAD, headers=as_user(LEARNER), json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)}
    )
    assert_conforms(spec, THREAD_RULE, "put", opened)
    posted = client.post(f"{THREAD}/messages", headers=as_user(LEARNER), json={"text": "hi", "uuid": "m1"})
    assert posted.status_code == 201
    assert_conforms(spec, THREAD_RULE + "/messages", "post", posted)
    listed = client.get(f"{THREAD}/messages", headers=as_user(LEARNER))
    assert_conforms(spec, THREAD_RULE + "/messages", "get", listed)
    assert_conforms(spec, THREAD_RULE + "/events", "get", client.get(f"{THREAD}/events", headers=as_user(LEARNER)))
    edited = client.put(f"{THREAD}/messages/m1", headers=as_user(LEARNER), json={"text": "hello"})
    assert_conforms(spec, THREAD_RULE + "/messages/{uuid}", "put", edited)
    deleted = client.delete(f"{THREAD}/messages/m1", headers=as_user(LEARNER))
    assert_conforms(spec, THREAD_RULE + "/messages/{uuid}", "delete", deleted)
    assert_conforms(spec, THREAD_RULE + "/messages", "get", client.get(f"{THREAD}/messages", headers=as_user(LEARNER)))
    assert_conforms(spec, THREAD_RULE + "/read", "put", client.put(f"{THREAD}/read", headers=as_user(LEARNER)))
    assert_conforms(spec, THREAD_RULE + "/follow", "put", client.put(f"{THREAD}/follow", headers=as_user(LEARNER)))
    assert_conforms(spec, THREAD_RULE + "/follow", "get", client.get(f"{THREAD}/follow", headers=as_user(LEARNER)))
    unfollowed = client.delete(f"{THREAD}/follow", headers=as_user(LEARNER))
    assert_conforms(spec, THREAD_RULE + "/follow", "delete", unfollowed)
    listed_threads = client.get("/forum/threads?is_mine=1", headers=as_user(LEARNER))
    assert listed_threads.status_code == 200 and listed_threads.get_json()
    assert_conforms(spec, "/forum/threads", "get", listed_threads)
    assert_conforms(spec, "/forum/notifications", "get", client.get("/forum/notifications", headers=as_user(LEARNER)))
    assert_conforms(spec, "/healthz", "get", client.get("/healthz"))
    assert_conforms(spec, "/readyz", "get", client.get("/readyz"))


def test_error_responses_match_the_envelope(client, spec):
    cases = [
        (THREAD_RULE, "get", client.get(THREAD)),  # 401
        (THREAD_RULE, "get", client.get(THREAD, headers=as_user(STRANGER))),  # 403
        (THREAD_RULE, "put", client.put(THREAD, headers=as_user(LEARNER), json={})),  # 400
        (THREAD_RULE, "put", client.put(THREAD, headers=as_user(LEARNER), data="x", content_type="text/plain")),
        (THREAD_RULE + "/messages", "get", client.get(f"{THREAD}/messages?limit=21", headers=as_user(LEARNER))),
        (THREAD_RULE + "/messages", "post", client.post(f"{THREAD}/messages", headers=as_user(LEARNER),
                                                        json={"text": "x" * 70_000})),  # 413
        (THREAD_RULE + "/messages/{uuid}", "delete",
         client.delete(f"{THREAD}/messages/nope", headers=as_user(LEARNER))),  # 404
        (THREAD_RULE + "/messages", "post", client.post(f"{THREAD}/messages", headers=as_user(LEARNER),
                                                        json={"text": "on a thread not open"})),  # 409
    ]
    assert [r.status_code for _, _, r in cases] == [401, 403, 400, 415, 400, 413, 404, 409]
    for path, method, response in cases:
        assert_conforms(spec, path, method, response)
