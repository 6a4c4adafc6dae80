"""schemathesis against a real server: every documented operation, generated inputs valid and
invalid, and not one 5xx or response that strays from the OpenAPI document."""

from __future__ import annotations

import http.client
import json
import re
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from container import Container
from domain.shared import MAX_ID
from entrypoints.http.app import create_app
from entrypoints.http.openapi import ID_PATTERN
from tests.support.live_server import start_server

pytestmark = pytest.mark.integration

USER = "7"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    server = start_server(
        {
            "PARLEY_PROFILE": "memory",
            "PARLEY_AUTH": "dev",
            "PARLEY_GRANTS": "open",
            # The fuzzer writes far faster than any person; the limit has its own tests.
            "PARLEY_WRITE_RATE_LIMIT": "off",
            "PARLEY_READ_RATE_LIMIT": "off",
            "PARLEY_LOG_LEVEL": "warning",
        },
        tmp_path_factory.mktemp("fuzz-logs"),
    )
    yield server
    server.stop()


def _document() -> dict:
    """The document the server serves, built in this process so tests can be generated at collection
    (schemathesis's fixture-based loader does not work with this pytest)."""
    container = Container()
    try:
        app = create_app({"profile": "memory", "auth": "dev", "grants": "open"}, container)
        return app.test_client().get("/openapi.json").get_json()
    finally:
        container.unwire()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_server_serves_the_document_being_fuzzed(fuzz_server):
    with urllib.request.urlopen(f"{fuzz_server.url}/openapi.json", timeout=10) as response:
        assert json.loads(response.read()) == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_breaks_its_contract(case, fuzz_server):
    headers = {"X-Parley-User": _acting_user(case)}
    if case.operation.method.upper() == "POST" and case.operation.path.endswith("/events"):
        headers["X-Parley-Scopes"] = "forum:events"  # task events come from a service
    case.call_and_validate(base_url=fuzz_server.url, headers=headers, checks=CHECKS, timeout=10)


def _acting_user(case) -> str:
    """Act as the thread's participant, on a handful of threads, so that generated requests reach
    the success paths (and open threads accept messages) instead of stopping at 403."""
    params = case.path_parameters or {}
    item, participant = params.get("item_id"), params.get("participant_id")
    if _valid_id(item) and _valid_id(participant):
        params["item_id"] = str(int(item) % 3 + 1)
        params["participant_id"] = str(int(participant) % 2 + 7)
        return params["participant_id"]
    return USER


def _valid_id(value) -> bool:
    return isinstance(value, str) and re.fullmatch(ID_PATTERN, value) is not None and int(value) <= MAX_ID


def test_the_live_server_answers_a_chunked_body_over_the_limit_with_a_json_413(fuzz_server):
    path = f"/forum/items/10/participant/{USER}/thread"
    conn = http.client.HTTPConnection("127.0.0.1", fuzz_server.port, timeout=10)
    try:
        conn.request("PUT", path, json.dumps({"status": "waiting_for_trainer", "helper_group_id": "5"}),
                     {"X-Parley-User": USER, "Content-Type": "application/json"})
        assert conn.getresponse().read() and True
        body = json.dumps({"text": "x" * 200_000}).encode()
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
        conn.request("POST", path + "/messages", chunks, {"X-Parley-User": USER, "Content-Type": "application/json"},
                     encode_chunked=True)
        response = conn.getresponse()
        payload = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 413
    assert payload["success"] is False and payload["error"]["code"] == "payload_too_large"
