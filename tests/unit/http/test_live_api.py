"""/live over HTTP on the memory profile: a teacher and two students, and every refusal's envelope."""

from __future__ import annotations

import csv
import io

import pytest

TEACHER, ANA, BEN = 101, 102, 103


def as_user(uid):
    return {"X-Parley-User": str(uid)}


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["success"] is False and isinstance(body["error"]["details"], dict)
    if code is not None:
        assert body["error"]["code"] == code
    return body


@pytest.fixture
def room(client):
    reply = client.post("/live/rooms", json={"room_id": "maths", "name": "Maths"}, headers=as_user(TEACHER))
    assert reply.status_code == 201 and reply.get_json()["data"]["state"] == "no_question"
    return "maths"


def make_question(client, options=None, text="2 + 2?"):
    if options is None:
        options = [
            {"text": "3", "post_text": "Count again."},
            {"text": "4", "is_correct": True, "post_text": "Yes."},
            {"text": "5", "post_text": "One too many."},
        ]
    reply = client.post("/live/questions", json={"text": text, "options": options}, headers=as_user(TEACHER))
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["data"]


def test_a_class_goes_through_one_question(client, room):
    question = make_question(client)
    assert question["type"] == "single_answer"
    picked = client.post(f"/live/rooms/{room}/pick", json={"question_id": question["question_id"]},
                         headers=as_user(TEACHER))
    assert picked.status_code == 200 and picked.get_json()["data"]["state"] == "question_opened"

    seen = client.get(f"/live/rooms/{room}", headers=as_user(ANA)).get_json()
    assert seen["question"]["options"] == [
        {"index": 0, "text": "3"}, {"index": 1, "text": "4"}, {"index": 2, "text": "5"},
    ]
    assert seen["my_attempt"] is None and "attempts" not in seen

    first = client.put(f"/live/rooms/{room}/attempt", json={"answer": 0}, headers=as_user(ANA))
    assert first.status_code == 201 and first.get_json()["message"] == "created"
    changed = client.put(f"/live/rooms/{room}/attempt", json={"answer": 1}, headers=as_user(ANA))
    assert changed.status_code == 200 and changed.get_json()["message"] == "updated"
    client.put(f"/live/rooms/{room}/attempt", json={"answer": [2]}, headers=as_user(BEN))

    listed = client.get(f"/live/rooms/{room}/attempts", headers=as_user(TEACHER)).get_json()
    assert [(a["user_id"], a["answer"]) for a in listed] == [(str(ANA), [1]), (str(BEN), [2])]
    counts = client.get(f"/live/rooms/{room}/counts", headers=as_user(TEACHER)).get_json()
    assert counts["counts"] == [0, 1, 1] and counts["attempts"] == 2
    assert_error(client.get(f"/live/rooms/{room}/attempts", headers=as_user(ANA)), 403)
    assert_error(client.get(f"/live/rooms/{room}/counts", headers=as_user(BEN)), 403)

    closed = client.post(f"/live/rooms/{room}/close-question", headers=as_user(TEACHER))
    assert closed.get_json()["data"]["state"] == "question_closed"
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": 2}, headers=as_user(ANA)), 409)

    ana = client.get(f"/live/rooms/{room}", headers=as_user(ANA)).get_json()
    assert ana["feedback_released"] is True and ana["question"]["options"][1]["is_correct"] is True
    assert ana["my_result"]["correct"] is True and ana["my_result"]["marked_correctly"][0]["post_text"] == "Yes."
    ben = client.get(f"/live/rooms/{room}", headers=as_user(BEN)).get_json()["my_result"]
    assert ben["correct"] is False
    assert [f["index"] for f in ben["missed"]] == [1] and [f["index"] for f in ben["marked_wrongly"]] == [2]

    exported = client.get(f"/live/rooms/{room}/attempts.csv", headers=as_user(TEACHER))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0][:2] == ["room_id", "question_id"] and [(r[4], r[5], r[6]) for r in rows[1:]] == [
        (str(ANA), "1", "true"), (str(BEN), "2", "false"),
    ]
    assert_error(client.get(f"/live/rooms/{room}/attempts.csv", headers=as_user(ANA)), 403)

    closed_room = client.post(f"/live/rooms/{room}/close", headers=as_user(TEACHER))
    assert closed_room.get_json()["data"]["state"] == "room_closed"
    assert_error(client.post(f"/live/rooms/{room}/close", headers=as_user(TEACHER)), 409)


def test_a_taken_room_id_is_a_409(client, room):
    body = assert_error(client.post("/live/rooms", json={"room_id": room}, headers=as_user(ANA)), 409, "room_id_taken")
    assert "room_id" in body["error"]["details"]


def test_only_the_owner_acts_and_only_on_their_own_questions(client, room):
    question = make_question(client)
    assert_error(client.post(f"/live/rooms/{room}/pick", json={"question_id": question["question_id"]},
                             headers=as_user(ANA)), 403)
    hers = client.post("/live/questions", json={"text": "Why?"}, headers=as_user(ANA)).get_json()["data"]
    assert_error(client.post(f"/live/rooms/{room}/pick", json={"question_id": hers["question_id"]},
                             headers=as_user(TEACHER)), 404)
    assert_error(client.get(f"/live/questions/{question['question_id']}", headers=as_user(ANA)), 404)
    assert [q["question_id"] for q in client.get("/live/questions", headers=as_user(ANA)).get_json()] == [
        hers["question_id"]
    ]
    assert_error(client.post(f"/live/rooms/{room}/close-question", headers=as_user(ANA)), 403)
    assert_error(client.post(f"/live/rooms/{room}/close", headers=as_user(BEN)), 403)
    assert_error(client.post(f"/live/rooms/{room}/close-question", headers=as_user(TEACHER)), 409)


def test_refused_inputs_change_nothing(client, room):
    assert_error(client.post("/live/questions", json={"text": "Pick", "options": [{"text": "a"}, {"text": "b"}]},
                             headers=as_user(TEACHER)), 422)
    assert client.get("/live/questions", headers=as_user(TEACHER)).get_json() == []
    question = make_question(client, options=[{"text": "2", "is_correct": True}, {"text": "3", "is_correct": True},
                                              {"text": "4"}], text="Primes?")
    assert question["type"] == "multiple_answer"
    client.post(f"/live/rooms/{room}/pick", json={"question_id": question["question_id"]}, headers=as_user(TEACHER))
    for bad in ([], 1, [0, 0], [7], "two", None):
        assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": bad}, headers=as_user(ANA)), 422)
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={}, headers=as_user(ANA)), 400)
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": [0], "extra": 1}, headers=as_user(ANA)), 400)
    assert_error(client.put(f"/live/rooms/{room}/attempt", data="answer=1", headers=as_user(ANA)), 415)
    assert client.get(f"/live/rooms/{room}/attempts", headers=as_user(TEACHER)).get_json() == []
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": [0]}, headers=as_user(TEACHER)), 403)


def test_bad_ids_unknown_rooms_and_no_credentials(client, room):
    assert_error(client.post("/live/rooms", json={"room_id": "a.b"}, headers=as_user(TEACHER)), 400)
    assert_error(client.get("/live/rooms/a.b", headers=as_user(TEACHER)), 400)
    assert_error(client.get("/live/rooms/nowhere", headers=as_user(TEACHER)), 404)
    assert_error(client.put("/live/rooms/nowhere/attempt", json={"answer": 1}, headers=as_user(ANA)), 404)
    assert_error(client.get(f"/live/rooms/{room}"), 401)
    assert_error(client.get("/live/rooms?from=nonsense", headers=as_user(ANA)), 400)
    assert_error(client.post(f"/live/rooms/{room}/pick", json={"question_id": "x", "time_limit_seconds": 1},
                             headers=as_user(TEACHER)), 422)


def test_rooms_and_questions_page_with_cursors(client):
    for name in ("c", "a", "b"):
        client.post("/live/rooms", json={"room_id": name}, headers=as_user(TEACHER))
    first = client.get("/live/rooms?limit=2", headers=as_user(ANA)).get_json()
    assert [r["room_id"] for r in first] == ["a", "b"]
    rest = client.get(f"/live/rooms?from={first[-1]['cursor']}", headers=as_user(ANA)).get_json()
    assert [r["room_id"] for r in rest] == ["c"]
    made = [make_question(client, options=[], text=f"Q{i}")["question_id"] for i in range(3)]
    page = client.get("/live/questions?limit=2", headers=as_user(TEACHER)).get_json()
    after = client.get(f"/live/questions?from={page[-1]['cursor']}", headers=as_user(TEACHER)).get_json()
    assert sorted(q["question_id"] for q in page + after) == sorted(made) and len(after) == 1


def test_a_time_limit_closes_the_question_on_the_next_request(client, room, clock):
    question = make_question(client, options=[], text="Why?")
    picked = client.post(f"/live/rooms/{room}/pick", json={"question_id": question["question_id"],
                                                          "time_limit_seconds": 30}, headers=as_user(TEACHER))
    assert picked.get_json()["data"]["deadline"] is not None
    client.put(f"/live/rooms/{room}/attempt", json={"answer": "because"}, headers=as_user(ANA))
    clock.advance(seconds=30)
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": "late"}, headers=as_user(BEN)), 409)
    state = client.get(f"/live/rooms/{room}", headers=as_user(ANA)).get_json()
    assert state["room"]["state"] == "question_closed" and state["my_result"]["answer"] == "because"


def test_responses_match_the_openapi_document(client, room):
    from tests.unit.http.test_openapi import assert_conforms

    spec = client.get("/openapi.json").get_json()
    question = make_question(client)
    teacher, ana = as_user(TEACHER), as_user(ANA)
    rule = "/live/rooms/{room_id}"
    calls = [
        (rule + "/counts", "get", lambda: client.get(f"/live/rooms/{room}/counts", headers=teacher)),  # none picked
        ("/live/rooms", "get", lambda: client.get("/live/rooms", headers=ana)),
        ("/live/questions", "get", lambda: client.get("/live/questions", headers=teacher)),
        (rule + "/pick", "post", lambda: client.post(f"/live/rooms/{room}/pick",
                                                     json={"question_id": question["question_id"]}, headers=teacher)),
        (rule + "/attempt", "put", lambda: client.put(f"/live/rooms/{room}/attempt", json={"answer": 1}, headers=ana)),
        (rule + "/attempt", "put", lambda: client.put(f"/live/rooms/{room}/attempt", json={"answer": 9}, headers=ana)),
        (rule, "get", lambda: client.get(f"/live/rooms/{room}", headers=teacher)),
        (rule + "/attempts", "get", lambda: client.get(f"/live/rooms/{room}/attempts", headers=teacher)),
        (rule + "/counts", "get", lambda: client.get(f"/live/rooms/{room}/counts", headers=teacher)),
        (rule + "/close-question", "post", lambda: client.post(f"/live/rooms/{room}/close-question", headers=teacher)),
        (rule, "get", lambda: client.get(f"/live/rooms/{room}", headers=ana)),
        (rule + "/close", "post", lambda: client.post(f"/live/rooms/{room}/close", headers=ana)),
        ("/live/questions/{question_id}", "get",
         lambda: client.get(f"/live/questions/{question['question_id']}", headers=ana)),
    ]
    for path, method, call in calls:
        assert_conforms(spec, path, method, call())


def test_text_no_store_can_keep_and_ids_unlike_any_issued_are_refused(client, room):
    for body in ({"text": "a\u0000b"}, {"text": "ok", "options": [{"text": "\ud800", "is_correct": True}]}):
        assert_error(client.post("/live/questions", json=body, headers=as_user(TEACHER)), 422)
    assert_error(client.post("/live/rooms", json={"room_id": "r2", "name": "x\u0000"}, headers=as_user(TEACHER)), 422)
    assert_error(client.get("/live/questions/" + "x" * 65, headers=as_user(TEACHER)), 400)
    assert_error(client.get("/live/questions/a%23b", headers=as_user(TEACHER)), 400)
    assert_error(client.post(f"/live/rooms/{room}/pick", json={"question_id": "a#b"}, headers=as_user(TEACHER)), 400)
    question = make_question(client, options=[], text="Why?")
    client.post(f"/live/rooms/{room}/pick", json={"question_id": question["question_id"]}, headers=as_user(TEACHER))
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": "a\u0000"}, headers=as_user(ANA)), 422)
    assert_error(client.put(f"/live/rooms/{room}/attempt", json={"answer": "a", "question_id": "?"},
                            headers=as_user(ANA)), 400)
    assert client.get(f"/live/rooms/{room}/attempts", headers=as_user(TEACHER)).get_json() == []
