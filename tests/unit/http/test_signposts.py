from entrypoints.http.app import create_app


def _client():
    return create_app({"profile": "memory", "auth": "dev"}).test_client()


def test_the_root_points_to_the_docs_and_the_api_document():
    answer = _client().get("/")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["docs"] == "/docs" and body["openapi"] == "/openapi.json"


def test_a_plain_get_of_the_websocket_endpoint_says_to_upgrade():
    answer = _client().get("/ws")
    assert answer.status_code == 426
    assert answer.headers["Upgrade"] == "websocket"
    body = answer.get_json()
    assert body["success"] is False and body["error"]["code"] == "upgrade_required"
    assert "websocket" in body["message"]
