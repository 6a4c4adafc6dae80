"""/docs' "Try it out" uses the demo's ids (entrypoints/demo.py), so that the README's token reaches
the README's thread and rooms from the interactive docs."""

from __future__ import annotations

from entrypoints.demo import DEMO_CHAT_ROOM_ID, DEMO_ITEM_ID, DEMO_LIVE_ROOM_ID
from entrypoints.http.app import create_app


def _path_examples(document, path):
    return {p["name"]: p.get("example") for op in document["paths"][path].values() for p in op["parameters"]
            if p["in"] == "path"}


def test_the_path_parameters_carry_the_demos_ids():
    document = create_app({"profile": "memory", "auth": "dev"}).test_client().get("/openapi.json").get_json()
    thread = _path_examples(document, "/forum/items/{item_id}/participant/{participant_id}/thread")
    assert thread == {"item_id": str(DEMO_ITEM_ID), "participant_id": "1"}
    assert _path_examples(document, "/chat/rooms/{room_id}")["room_id"] == DEMO_CHAT_ROOM_ID
    assert _path_examples(document, "/live/rooms/{room_id}")["room_id"] == DEMO_LIVE_ROOM_ID
    put = document["paths"]["/forum/items/{item_id}/participant/{participant_id}/thread"]["put"]
    body = put["requestBody"]["content"]["application/json"]["example"]
    assert body["helper_group_id"] == "5"  # the group the demo's learner may ask for help
