"""AlgoREA's backend surface (docs/algorea.md) on the memory profile, through HTTP with real tokens.

Who may do what is the forum's rule, so the surface's statuses are checked against the hand-made
table of tests/unit/http/test_authorization_matrix.py (same roles, thread states and credentials),
and every refusal must be AlgoREA's body, carrying none of the thread's data. The other tests pin
each endpoint's answers and every error body, worded as AlgoreaBackend words them.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import jwt
import pytest
from dependency_injector import providers

from adapters.memory.algorea import MemoryDirectory
from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.forum.directory import DirectoryItem, DirectoryUser
from container import Container
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from entrypoints.http.app import create_app
from tests.unit.auth.keys import KeyFiles, rsa_key
from tests.unit.http import test_authorization_matrix as matrix

NOW, CLOCK, KEY = matrix.NOW, matrix.CLOCK, matrix.KEY
ITEM, PARTICIPANT, HELPERS, CLASS = matrix.ITEM, matrix.PARTICIPANT, matrix.HELPERS, matrix.CLASS
PREFIX = "/algorea"
THREAD = f"{PREFIX}/items/{ITEM}/participant/{PARTICIPANT}/thread"
EVENTS = f"{PREFIX}/events"
EVENTS_TOKEN = "e" * 40
FORBIDDEN = {"success": False, "message": "Forbidden", "error_text": "Insufficient access rights"}


def bad_request(text: str, errors: dict | None = None) -> dict:
    body = {"success": False, "message": "Bad Request", "error_text": text}
    if errors is not None:
        body["errors"] = errors
    return body


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def app(keys):
    container = Container()
    container.forum.grant_tables.override(providers.Object(matrix.grant_tables()))
    container.core.clock.override(providers.Object(CLOCK))
    return create_app({
        "profile": "memory",
        "auth": "jwt",
        "grants": "tables",
        "jwt_algorithm": "RS256",
        "jwt_public_key_file": keys.idp_public,
        "jwt_private_key_file": keys.idp_private,
        "jwt_issuer": matrix.ISSUER,
        "jwt_audience": matrix.AUDIENCE,
        "algorea_events_token": EVENTS_TOKEN,
        "read_rate_limit": "off",
        "write_rate_limit": "10000/minute",
    }, container)


@pytest.fixture(scope="module")
def headers_of(keys):
    return {role: matrix.auth_headers(role, keys) for role in matrix.ROLES}


@pytest.fixture
def make_app(app):
    """Another app for one test; the module's app is wired again afterwards (wiring is per process:
    the views reach the container of the app made last)."""
    yield create_app
    app.container.wire()


def use_state(app, state: str) -> MemoryForumState:
    CLOCK.current = NOW
    forum = matrix.seeded_state(state)
    app.container.forum.state.override(providers.Object(forum))
    return forum


@pytest.fixture
def client(app):
    use_state(app, "not_started")
    directory = MemoryDirectory()
    app.container.forum.directory.override(providers.Object(directory))
    yield app.test_client()
    app.container.forum.directory.reset_override()


def user(user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {matrix.sign(matrix.user_claims(user_id))}"}



def as_participant() -> dict[str, str]:
    return user(PARTICIPANT)


# -- the authorisation matrix, on AlgoREA's paths -----------------------------------------------------

OPS = ("read", "to_wfp", "to_wft", "to_closed", "count", "list")


def algorea_request(op: str, state: str) -> tuple[str, str, dict | None]:
    opening_helper = {} if state == "open" else {"helper_group_id": HELPERS}  # a number, as the front end may send
    return {
        "read": ("GET", THREAD, None),
        "to_wfp": ("PUT", THREAD, {"status": "waiting_for_participant", **opening_helper}),
        "to_wft": ("PUT", THREAD, {"status": "waiting_for_trainer", **opening_helper}),
        "to_closed": ("PUT", THREAD, {"status": "closed"}),
        "count": ("PUT", THREAD, {"message_count_increment": 1}),
        "list": ("GET", f"{PREFIX}/threads?watched_group_id={CLASS}", None),
    }[op]


@pytest.mark.parametrize(
    "role, op, state",
    [pytest.param(r, o, s, id=f"{r}-{o}-{s}") for r, o, s in itertools.product(matrix.ROLES, OPS, matrix.STATES)],
)
def test_the_surface_follows_the_forum_rules_with_algorea_bodies(app, headers_of, role, op, state):
    use_state(app, state)
    method, path, body = algorea_request(op, state)
    response = app.test_client().open(path, method=method, json=body, headers=headers_of[role])
    expected = matrix.EXPECTED[(role, op, state)]
    answer = response.get_json()
    if op == "list":
        if expected in ("in", "out"):
            assert response.status_code == 200
            listed = [(row["item"]["id"], row["participant"]["id"]) for row in answer]
            assert (str(ITEM), str(PARTICIPANT)) in listed if expected == "in" else listed == []
        else:
            assert response.status_code == int(expected)
        return
    assert response.status_code == int(expected), answer
    if expected == "403":
        assert answer == FORBIDDEN
    elif expected == "401":
        assert answer["success"] is False and answer["message"] == "Unauthorized" and answer["error_text"]
    elif op == "read":
        assert answer["status"] == {"not_started": "not_started", "open": "waiting_for_trainer"}.get(state, "closed")
    else:
        assert answer == {"success": True, "message": "updated"}
    if response.status_code >= 400:
        assert matrix.SECRET_TEXT not in response.get_data(as_text=True)
        assert "message_count" not in response.get_data(as_text=True)


# -- GET thread -----------------------------------------------------------------------------------------


def test_get_thread_answers_algorea_shape_with_string_ids(client):
    answer = client.get(THREAD, headers=as_participant())
    assert answer.status_code == 200
    body = answer.get_json()
    assert {k: v for k, v in body.items() if k != "token"} == {"participant_id": "1", "item_id": "100",
                                                              "status": "not_started"}
    # Parley's thread token (signed here with the JWT key), the one the websocket takes.
    claims = jwt.decode(body["token"], rsa_key("idp").public_key(), algorithms=["RS256", "RS512"],
                        options={"verify_exp": False})
    assert (claims["item_id"], claims["participant_id"], claims["user_id"]) == ("100", "1", "1")


def test_get_thread_token_is_null_when_parley_signs_none(keys, make_app):
    container = Container()
    container.forum.grant_tables.override(providers.Object(matrix.grant_tables()))
    container.core.clock.override(providers.Object(CLOCK))
    app = make_app({
        "profile": "memory", "auth": "jwt", "grants": "tables", "jwt_algorithm": "RS256",
        "jwt_public_key_file": keys.idp_public, "jwt_issuer": matrix.ISSUER, "jwt_audience": matrix.AUDIENCE,
    }, container)
    CLOCK.current = NOW
    assert app.test_client().get(THREAD, headers=user(PARTICIPANT)).get_json()["token"] is None


def test_get_thread_signs_a_thread_token_when_parley_signs_them(keys, make_app):
    container = Container()
    container.forum.grant_tables.override(providers.Object(matrix.grant_tables()))
    container.core.clock.override(providers.Object(CLOCK))
    app = make_app({
        "profile": "memory", "auth": "jwt", "grants": "tables", "jwt_algorithm": "RS256",
        "jwt_public_key_file": keys.idp_public, "jwt_issuer": matrix.ISSUER, "jwt_audience": matrix.AUDIENCE,
        "thread_token_private_key_file": keys.algorea_private, "thread_token_public_key_file": keys.algorea_public,
    }, container)
    CLOCK.current = NOW
    body = app.test_client().get(THREAD, headers=user(PARTICIPANT)).get_json()
    claims = jwt.decode(body["token"], rsa_key("algorea").public_key(), algorithms=["RS256", "RS512"],
                        options={"verify_exp": False})
    named = (claims["item_id"], claims["participant_id"], claims["user_id"], claims["is_mine"])
    assert named == ("100", "1", "1", True)


def test_a_bad_path_id_is_algorea_s_400(client):
    answer = client.get(f"{PREFIX}/items/abc/participant/1/thread", headers=as_participant())
    assert answer.status_code == 400
    assert answer.get_json() == bad_request("Wrong value for item_id (should be int64)")
    answer = client.get(f"{PREFIX}/items/1/participant/0/thread", headers=as_participant())
    assert answer.get_json() == bad_request("Wrong value for participant_id (should be int64)")


def test_no_session_is_algorea_s_401(client):
    answer = client.get(THREAD)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(answer.get_json()) == {"success", "message", "error_text"}


# -- PUT thread -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, errors", [
    ({"status": "waiting_for_trainer"},
     {"status": ["the helper_group_id must be set to switch from a non-open to an open status"]}),
    ({"status": "closed", "helper_group_id": "50"},
     {"helper_group_id": ["the helper_group_id must not be given when setting or keeping status to closed"]}),
    ({"status": "waiting_for_trainer", "helper_group_id": "60"},
     {"helper_group_id": ["the group must be descendant of a group the participant can request help to"]}),
    ({"message_count": 1, "message_count_increment": 1},
     {"message_count": ["cannot have both message_count and message_count_increment set"]}),
    ({"status": "not_started", "message_count": 1},
     {"status": ["status must be one of [waiting_for_participant waiting_for_trainer closed]"]}),
    ({"status": "bogus"}, {"status": ["status must be one of [waiting_for_participant waiting_for_trainer closed]"]}),
    ({"message_count": -1}, {"message_count": ["message_count must be 0 or greater"]}),
    ({"helper_group_id": "abc", "status": "waiting_for_trainer"}, {"helper_group_id": ["should be an int64"]}),
    ({"colour": "red"}, {"colour": ["unexpected field"]}),
])
def test_invalid_updates_answer_the_backend_s_messages_and_change_nothing(client, body, errors):
    answer = client.put(THREAD, json=body, headers=as_participant())
    assert answer.status_code == 400
    assert answer.get_json() == bad_request("Invalid input data", errors)
    assert client.get(THREAD, headers=as_participant()).get_json()["status"] == "not_started"


def test_an_empty_update_is_the_backend_s_400(client):
    use_state(client.application, "open")
    answer = client.put(THREAD, json={}, headers=as_participant())
    assert answer.status_code == 400
    assert answer.get_json() == bad_request(
        "Either status, helper_group_id, message_count or message_count_increment must be given")


def test_a_body_error_is_a_403_first_for_who_may_not_read(client):
    use_state(client.application, "open")
    answer = client.put(THREAD, json={"status": "bogus"}, headers=user(matrix.USERS["stranger"]))
    assert answer.status_code == 403 and answer.get_json() == FORBIDDEN


def test_a_non_json_body_is_refused_in_algorea_s_body(client):
    answer = client.put(THREAD, data="status=closed", headers=as_participant())
    assert answer.status_code == 415
    assert answer.get_json()["success"] is False and answer.get_json()["message"] == "Unsupported Media Type"


def test_open_then_count_messages(client):
    opened = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                        headers=as_participant())
    assert opened.status_code == 200 and opened.get_json() == {"success": True, "message": "updated"}
    counted = client.put(THREAD, json={"message_count_increment": 1}, headers=as_participant())
    assert counted.status_code == 200
    row = client.get(f"{PREFIX}/threads?is_mine=1", headers=as_participant()).get_json()[0]
    assert (row["status"], row["message_count"]) == ("waiting_for_trainer", 1)


# -- GET /threads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query, text", [
    ("", "One of watched_group_id or is_mine must be given"),
    (f"?is_mine=1&watched_group_id={CLASS}", "Must not provide watched_group_id and is_mine at the same time"),
    ("?is_mine=yes", "Wrong value for is_mine (should have a boolean value (0 or 1))"),
    ("?watched_group_id=x", "Wrong value for watched_group_id (should be int64)"),
    ("?is_mine=1&item_id=-3", "Wrong value for item_id (should be int64)"),
    ("?is_mine=1&latest_update_gt=2023-01-01T00:00:99",
     "Wrong value for latest_update_gt (should be time (rfc3339Nano))"),
    ("?is_mine=1&limit=0", "Wrong value for limit (should be int64)"),
    ("?is_mine=1&limit=ten", "Wrong value for limit (should be int64)"),
    ("?is_mine=1&from.item_id=100",
     "All 'from' parameters (from.item_id, from.participant_id) or none of them must be present"),
    ("?is_mine=1&sort=item_id",
     "Unallowed field in sorting parameters: Parley sorts threads by -latest_update_at only"),
])
def test_thread_list_errors_are_the_backend_s(client, query, text):
    answer = client.get(f"{PREFIX}/threads{query}", headers=as_participant())
    assert answer.status_code == 400
    assert answer.get_json() == bad_request(text)


def seed_threads(app, *threads: Thread) -> None:
    forum = MemoryForumState()
    with MemoryForumUnitOfWork(forum, InProcessNotifier()) as uow:
        for thread in threads:
            uow.threads.save(thread)
        uow.commit()
    app.container.forum.state.override(providers.Object(forum))


def test_rows_carry_what_the_directory_knows_and_nulls_otherwise(client):
    other = matrix.USERS["helper_validated"]
    seed_threads(
        client.application,
        Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, HELPERS, 3, NOW - timedelta(minutes=5)),
        Thread(ThreadKey(ITEM, other), ThreadStatus.CLOSED, HELPERS, 1, NOW - timedelta(minutes=1)),
    )
    client.application.container.forum.directory().import_entries(
        [DirectoryItem(ITEM, "Task", "Loops", "fr")],
        [DirectoryUser(PARTICIPANT, "alice", "Alice", "Martin"), DirectoryUser(other, "bob", "Bob", "Hidden")],
    )
    watcher = user(matrix.USERS["watcher_answer_members"])
    rows = client.get(f"{PREFIX}/threads?watched_group_id={CLASS}", headers=watcher).get_json()
    assert rows == [{
        "item": {"id": "100", "language_tag": "fr", "title": "Loops", "type": "Task"},
        "participant": {"id": "1", "login": "alice"},  # no names: alice did not share them
        "latest_update_at": "2026-03-01T08:55:00.000Z",
        "message_count": 3,
        "status": "waiting_for_trainer",
    }]
    mine = client.get(f"{PREFIX}/threads?is_mine=1", headers=as_participant()).get_json()
    assert mine[0]["participant"] == {"id": "1", "login": "alice", "first_name": "Alice", "last_name": "Martin"}
    unknown = client.get(f"{PREFIX}/threads?is_mine=1", headers=user(other)).get_json()
    assert unknown[0]["item"] == {"id": "100", "language_tag": "fr", "title": "Loops", "type": "Task"}
    client.application.container.forum.directory().import_entries(
        [], [DirectoryUser(PARTICIPANT, "alice", "Alice", "Martin", show_personal_info=True)])
    rows = client.get(f"{PREFIX}/threads?watched_group_id={CLASS}", headers=watcher).get_json()
    assert rows[0]["participant"]["first_name"] == "Alice"


def test_an_unknown_item_or_user_is_null(client):
    seed_threads(client.application, Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, HELPERS, 0, NOW))
    row = client.get(f"{PREFIX}/threads?is_mine=1", headers=as_participant()).get_json()[0]
    assert row["item"] == {"id": "100", "language_tag": None, "title": None, "type": None}
    assert row["participant"] == {"id": "1", "login": None}


def test_filters_paging_and_others(client):
    watcher = user(matrix.USERS["watcher_answer_members"])
    seed_threads(client.application, *[
        Thread(ThreadKey(ITEM, p), ThreadStatus.WAITING_FOR_TRAINER if p % 2 else ThreadStatus.CLOSED, HELPERS, 0,
               NOW - timedelta(seconds=p))
        for p in (PARTICIPANT, 2, 3, 4)
    ])
    grants = client.application.container.forum.grant_tables()
    for p in (2, 3, 4):
        grants.add_member(CLASS, p)
    try:
        check_filters_and_paging(client, watcher)
    finally:
        for p in (2, 3, 4):
            grants.parents[p].discard(CLASS)


def check_filters_and_paging(client, watcher) -> None:

    def listed(query: str, headers=watcher) -> list[str]:
        answer = client.get(f"{PREFIX}/threads?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [row["participant"]["id"] for row in answer.get_json()]

    assert listed(f"watched_group_id={CLASS}") == ["1", "2", "3", "4"]
    assert listed(f"watched_group_id={CLASS}&sort=-latest_update_at&limit=2") == ["1", "2"]
    assert listed(f"watched_group_id={CLASS}&limit=2&from.item_id={ITEM}&from.participant_id=2") == ["3", "4"]
    assert listed(f"watched_group_id={CLASS}&status=closed") == ["2", "4"]
    assert listed(f"watched_group_id={CLASS}&status=not_started") == []
    assert listed(f"watched_group_id={CLASS}&item_id=999") == []
    # Nanoseconds are accepted (truncated to Parley's precision): strictly after 2.5 s before now.
    since = (NOW - timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%S") + ".500000001Z"
    assert listed(f"watched_group_id={CLASS}&latest_update_gt={since}") == ["1", "2"]
    assert listed("is_mine=0") == ["1", "2", "3", "4"]
    assert listed("is_mine=0", as_participant()) == []  # the participant's own thread is not "others'"
    assert listed("is_mine=1", as_participant()) == ["1"]


def test_resuming_after_a_thread_one_may_not_read_is_refused(client):
    seed_threads(client.application, Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, HELPERS, 0, NOW))
    stranger = user(matrix.USERS["stranger"])
    answer = client.get(f"{PREFIX}/threads?is_mine=1&from.item_id={ITEM}&from.participant_id={PARTICIPANT}",
                        headers=stranger)
    assert answer.status_code == 403 and answer.get_json() == FORBIDDEN


# -- events ---------------------------------------------------------------------------------------------


def envelope(kind: str, payload: dict, event_id: str = "ev-1", version: str = "1.0") -> dict:
    return {
        "version": "0", "id": event_id, "detail-type": kind, "source": "algorea.backend",
        "time": "2026-03-01T09:00:00Z",
        "detail": {"version": version, "type": kind, "source_app": "algoreabackend", "instance": "test",
                   "time": "2026-03-01T09:00:00Z", "request_id": "r1", "payload": payload},
    }


STATUS_CHANGED = {"participant_id": "1", "item_id": "100", "new_status": "waiting_for_trainer",
                  "former_status": "not_started", "helper_group_id": str(HELPERS), "updated_by": "1"}
SUBMISSION = {"answer_id": "12", "attempt_id": "0", "author_id": "1", "item_id": "100", "participant_id": "1"}
GRADE = {"answer_id": "12", "participant_id": "1", "attempt_id": "0", "item_id": "100", "validated": True,
         "caller_id": "1", "score": 100}
SENDER = {"Authorization": f"Bearer {EVENTS_TOKEN}"}


def thread_events(client) -> list[dict]:
    answer = client.get(f"/forum/items/{ITEM}/participant/{PARTICIPANT}/thread/events", headers=as_participant())
    assert answer.status_code == 200
    return answer.get_json()


def test_the_three_event_kinds_apply_once_each(client):
    sent = [envelope("thread_status_changed", STATUS_CHANGED, "a"), envelope("submission_created", SUBMISSION, "b"),
            envelope("grade_saved", GRADE, "c")]
    for body in sent + sent:
        answer = client.post(EVENTS, json=body, headers=SENDER)
        assert answer.status_code == 200
    replies = [client.post(EVENTS, json=body, headers=SENDER).get_json() for body in sent]
    assert [r["message"] for r in replies] == ["already applied"] * 3
    assert client.get(THREAD, headers=as_participant()).get_json()["status"] == "waiting_for_trainer"
    recorded = thread_events(client)
    assert [e["type"] for e in recorded] == ["thread_opened", "submission", "grade_updated"]
    assert (recorded[1]["attempt_id"], recorded[1]["answer_id"]) == ("0", "12")
    assert (recorded[2]["score"], recorded[2]["validated"]) == (100, True)
    follow = client.get(THREAD.replace(PREFIX, "/forum") + "/follow", headers=as_participant()).get_json()
    assert follow["following"] is True  # opening made the participant a follower, as an update does


def test_a_first_delivery_says_applied(client):
    answer = client.post(EVENTS, json=envelope("submission_created", SUBMISSION, "first"), headers=SENDER)
    assert answer.get_json() == {"success": True, "message": "applied", "data": {"id": "first", "applied": True}}


def test_closing_by_event_needs_no_helper_group_and_sets_follow_expiry(client):
    client.post(EVENTS, json=envelope("thread_status_changed", STATUS_CHANGED, "open"), headers=SENDER)
    closing = {**STATUS_CHANGED, "new_status": "closed", "former_status": "waiting_for_trainer"}
    closed = client.post(EVENTS, json=envelope("thread_status_changed", closing, "close"), headers=SENDER)
    assert closed.status_code == 200
    assert client.get(THREAD, headers=as_participant()).get_json()["status"] == "closed"
    assert [e["type"] for e in thread_events(client)] == ["thread_opened", "thread_closed"]


@pytest.mark.parametrize("kind, version", [("group_results_export_completed", "1.0"), ("submission_created", "2.0")])
def test_unknown_kinds_and_newer_versions_are_acknowledged_and_ignored(client, kind, version):
    answer = client.post(EVENTS, json=envelope(kind, SUBMISSION, "x", version), headers=SENDER)
    assert answer.status_code == 200 and answer.get_json()["message"] == "ignored"
    assert thread_events(client) == []


@pytest.mark.parametrize("body, errors", [
    ({"detail": {}}, {"id": ["Missing data for required field."], "detail-type": ["Missing data for required field."],
                      "detail": ["version: Missing data for required field.", "type: Missing data for required field.",
                                 "payload: Missing data for required field."]}),
    (envelope("submission_created", {**SUBMISSION, "answer_id": 12}),
     {"detail.payload.answer_id": ["Not a valid string."]}),
    (envelope("grade_saved", {**GRADE, "score": 101}),
     {"detail.payload.score": ["Must be greater than or equal to 0 and less than or equal to 100."]}),
    (envelope("thread_status_changed", {**STATUS_CHANGED, "new_status": "not_started"}),
     {"detail.payload.new_status": ["Must be one of: waiting_for_participant, waiting_for_trainer, closed."]}),
])
def test_malformed_events_are_400_and_change_nothing(client, body, errors):
    answer = client.post(EVENTS, json=body, headers=SENDER)
    assert answer.status_code == 400
    assert answer.get_json() == bad_request("Invalid input data", errors)
    assert thread_events(client) == []


def test_a_refused_event_can_be_sent_again_once_fixed(client):
    bad = envelope("submission_created", {**SUBMISSION, "item_id": "x"}, "retry")
    assert client.post(EVENTS, json=bad, headers=SENDER).status_code == 400
    good = envelope("submission_created", SUBMISSION, "retry")
    assert client.post(EVENTS, json=good, headers=SENDER).get_json()["message"] == "applied"


@pytest.mark.parametrize("role, status", [
    ("service", 200),  # a Parley service token with the forum:events scope
    ("participant", 403), ("watcher_answer_members", 403), ("stranger", 403),
    ("no_token", 401), ("expired", 401), ("tampered", 401), ("alg_none", 401), ("alg_confusion", 401),
    ("wrong_audience", 401),
])
def test_event_credentials(client, headers_of, role, status):
    answer = client.post(EVENTS, json=envelope("submission_created", SUBMISSION, role), headers=headers_of[role])
    assert answer.status_code == status, answer.get_json()
    if status == 403:
        assert answer.get_json() == FORBIDDEN
    if status >= 400:
        assert answer.get_json()["success"] is False
        assert thread_events(client) == []


def test_credentials_are_checked_before_the_body(client, headers_of):
    assert client.post(EVENTS, json={"detail": {}}).status_code == 401
    assert client.post(EVENTS, data="not json", headers=headers_of["expired"]).status_code == 401
    answer = client.post(EVENTS, json={"detail": {}}, headers=headers_of["participant"])
    assert answer.status_code == 403 and answer.get_json() == FORBIDDEN
    assert client.post(EVENTS, json={"detail": {}}, headers=SENDER).status_code == 400


@pytest.mark.parametrize("header", [f"Bearer {EVENTS_TOKEN[:-1]}x", f"Basic {EVENTS_TOKEN}", EVENTS_TOKEN])
def test_a_wrong_events_secret_is_401(client, header):
    answer = client.post(EVENTS, json=envelope("submission_created", SUBMISSION), headers={"Authorization": header})
    assert answer.status_code == 401
    assert thread_events(client) == []


def test_an_algorea_thread_token_cannot_send_events(keys, make_app):
    container = Container()
    container.core.clock.override(providers.Object(CLOCK))
    app = make_app({"profile": "memory", "grants": "algorea_tokens", "algorea_public_key_file": keys.algorea_public,
                      "algorea_events_token": EVENTS_TOKEN}, container)
    claims = {"item_id": "100", "participant_id": "1", "user_id": "1", "is_mine": True, "can_watch": True,
              "can_write": True, "exp": int((NOW + timedelta(hours=1)).timestamp()), "date": "01-03-2026"}
    token = {"Authorization": "Bearer " + jwt.encode(claims, rsa_key("algorea"), "RS512")}
    client = app.test_client()
    CLOCK.current = NOW
    answer = client.post(EVENTS, json=envelope("submission_created", SUBMISSION), headers=token)
    assert answer.status_code == 403 and answer.get_json() == FORBIDDEN
    # The same token reads its thread on the surface: it is the credential for that thread.
    assert client.get(THREAD, headers=token).get_json()["status"] == "not_started"
    assert client.post(EVENTS, json=envelope("submission_created", SUBMISSION), headers=SENDER).status_code == 200


def test_without_a_configured_secret_only_service_tokens_send_events(keys, headers_of, make_app):
    container = Container()
    container.core.clock.override(providers.Object(CLOCK))
    app = make_app({"profile": "memory", "auth": "jwt", "jwt_algorithm": "RS256",
                      "jwt_public_key_file": keys.idp_public, "jwt_issuer": matrix.ISSUER,
                      "jwt_audience": matrix.AUDIENCE}, container)
    CLOCK.current = NOW
    client = app.test_client()
    assert client.post(EVENTS, json=envelope("submission_created", SUBMISSION), headers=SENDER).status_code == 401
    service = client.post(EVENTS, json=envelope("submission_created", SUBMISSION), headers=headers_of["service"])
    assert service.status_code == 200


# -- configuration --------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix, path", [("", "/threads?is_mine=1"), ("/api/v1/", "/api/v1/threads?is_mine=1")])
def test_the_prefix_is_configurable(prefix, path, make_app):
    app = make_app({"profile": "memory", "algorea_backend_prefix": prefix})
    answer = app.test_client().get(path, headers={"X-Parley-User": "1"})
    assert answer.status_code == 200 and answer.get_json() == []
    assert app.test_client().get("/algorea/threads?is_mine=1", headers={"X-Parley-User": "1"}).status_code == 404


@pytest.mark.parametrize("settings, message", [
    ({"algorea_backend_prefix": "/forum"}, "must not be under /forum"),
    ({"algorea_backend_prefix": "/sls/x"}, "must not be under /sls"),
    ({"algorea_backend_prefix": "no-slash"}, "must be empty or a path"),
    ({"algorea_backend_prefix": "/a b"}, "must be empty or a path"),
    ({"algorea_events_token": "short"}, "at least 32"),
])
def test_bad_settings_stop_the_start(settings, message, make_app):
    with pytest.raises(ValueError, match=message):
        make_app({"profile": "memory", **settings})


# -- backend outages, limits and sizes, in AlgoREA's body -------------------------------------------------


class DownDirectory(MemoryDirectory):
    def items(self, item_ids):
        from application.shared import BackendUnavailable

        raise BackendUnavailable("database")


def test_a_backend_outage_is_a_503_with_retry_after(client):
    seed_threads(client.application, Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, HELPERS, 0, NOW))
    client.application.container.forum.directory.override(providers.Object(DownDirectory()))
    answer = client.get(f"{PREFIX}/threads?is_mine=1", headers=as_participant())
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) >= 1
    assert answer.get_json() == {"success": False, "message": "Service Unavailable",
                                 "error_text": "Database is unavailable, try again shortly"}


def test_the_write_limit_answers_429_in_algorea_s_body(make_app):
    app = make_app({"profile": "memory", "write_rate_limit": "1/minute"})
    client = app.test_client()
    body = {"status": "waiting_for_trainer", "helper_group_id": "5"}
    client.put(THREAD, json=body, headers={"X-Parley-User": "1"})
    limited = client.put(THREAD, json=body, headers={"X-Parley-User": "1"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["success"] is False and limited.get_json()["message"] == "Too Many Requests"


def test_a_body_over_64_kib_is_a_413_in_algorea_s_body(client):
    answer = client.post(EVENTS, json=envelope("submission_created", {**SUBMISSION, "pad": "x" * 70_000}),
                         headers=SENDER)
    assert answer.status_code == 413
    assert answer.get_json()["success"] is False and answer.get_json()["message"] == "Request Entity Too Large"


@pytest.mark.parametrize("event_id", ["", "a\x00b", "x" * 129, "with space"])
def test_an_event_id_must_be_printable_ascii(client, event_id):
    answer = client.post(EVENTS, json=envelope("submission_created", SUBMISSION, event_id), headers=SENDER)
    assert answer.status_code == 400 and answer.get_json()["errors"] == {"id": ["1 to 128 printable ASCII characters"]}
    assert thread_events(client) == []
