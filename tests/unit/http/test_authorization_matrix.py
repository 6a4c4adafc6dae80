# ruff: noqa: E501  (the table below is easier to check by eye one role per line)
"""Who may do what on a thread, through HTTP with real JWTs: one table, every cell checked.

The expected statuses below were worked out by hand from DESIGN.md §2.1 (not computed from the
policy code), for every role × operation × thread state. A cell is either one value for all four
states or four values `not_started/open/closed_recently/closed_long_ago`. For `list` the value
says whether the thread is in the 200 answer (`in`/`out`). Beyond the status, every cell checks
that nothing leaks: refusals and lists without the thread carry none of its data.

Issue 11 (defect 9) changed the cells where a user who may not read the thread restated its
current status (to_wft on an open thread, to_closed on a closed one): that answered 200 while
every other status answered 403, which told the status. Whoever may not read gets 403 first.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from dependency_injector import providers

from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import GrantTables
from container import Container
from domain.forum import events as ev
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from domain.forum.policy import ViewLevel, WatchLevel
from entrypoints.http.app import create_app
from tests.unit.auth.keys import KeyFiles, handmade_token, rsa_key, tamper
from tests.unit.fakes import FakeClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ITEM, PARTICIPANT, HELPERS, CLASS = 100, 1, 50, 60
KEY = ThreadKey(ITEM, PARTICIPANT)
THREAD = f"/forum/items/{ITEM}/participant/{PARTICIPANT}/thread"
SECRET_TEXT = "the participant's private question"
ISSUER, AUDIENCE = "https://id.example", "parley"

CLOCK = FakeClock(NOW)
STATES = ("not_started", "open", "closed_recently", "closed_long_ago")
OPS = ("read", "events", "messages", "post", "to_wfp", "to_wft", "to_closed", "count", "follow", "list", "task_event")

UNAUTHENTICATED = "401 401 401 401 401 401 401 401 401 401 401"
TABLE = f"""
role                    read            events          messages        post            to_wfp          to_wft          to_closed       count           follow          list            task_event
participant             200             200             200             409/201/409/409 200             200             200             403/200/403/403 200             out/in/in/in    403
helper_validated        403/200/200/403 403/200/200/403 403/200/200/403 403/201/409/403 403/200/403/403 403/200/403/403 403/403/200/403 403/200/403/403 403/200/200/403 out/in/in/out   403
helper_not_validated    403             403             403             403             403             403             403             403/403/403/403 403             out             403
watcher_answer_members  200             200             200             409/201/409/409 200             200             403/403/200/200 403/200/403/403 200             out/in/in/in    403
watcher_answer          200             200             200             409/403/409/409 403             403/200/403/403 403/403/200/200 403/403/403/403 200             out/in/in/in    403
watcher_result_members  403             403             403             403             403             403             403             403/403/403/403 403             out             403
watcher_result          403             403             403             403             403             403             403             403/403/403/403 403             out             403
stranger                403             403             403             403             403             403             403             403             403             out             403
service                 403             403             403             403             403             403             403             403             403             out             201
no_token                {UNAUTHENTICATED}
expired                 {UNAUTHENTICATED}
tampered                {UNAUTHENTICATED}
alg_none                {UNAUTHENTICATED}
alg_confusion           {UNAUTHENTICATED}
wrong_audience          {UNAUTHENTICATED}
"""

USERS = {
    "participant": PARTICIPANT,
    "helper_validated": 11,
    "helper_not_validated": 12,
    "watcher_answer_members": 21,
    "watcher_answer": 22,
    "watcher_result_members": 23,
    "watcher_result": 24,
    "stranger": 30,
}


def parse_table(text: str) -> dict[tuple[str, str, str], str]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[1:]) == OPS
    expected = {}
    for role, *cells in rows:
        assert len(cells) == len(OPS), role
        for op, cell in zip(OPS, cells, strict=True):
            values = cell.split("/") if "/" in cell else [cell] * len(STATES)
            assert len(values) == len(STATES), (role, op)
            for state, value in zip(STATES, values, strict=True):
                expected[(role, op, state)] = value
    return expected


EXPECTED = parse_table(TABLE)
ROLES = tuple(dict.fromkeys(role for role, _, _ in EXPECTED))


def grant_tables() -> GrantTables:
    t = GrantTables()
    t.add_member(HELPERS, USERS["helper_validated"])
    t.add_member(HELPERS, USERS["helper_not_validated"])
    t.add_member(CLASS, PARTICIPANT)
    t.grant(PARTICIPANT, ITEM, ViewLevel.CONTENT, can_request_help_to=(HELPERS,))
    t.grant(HELPERS, ITEM, ViewLevel.CONTENT, WatchLevel.RESULT)
    t.validate(USERS["helper_validated"], ITEM)
    for role, watch in (("watcher_answer", WatchLevel.ANSWER), ("watcher_result", WatchLevel.RESULT)):
        t.grant(USERS[role], ITEM, ViewLevel.CONTENT, watch)
        t.grant(USERS[role + "_members"], ITEM, ViewLevel.CONTENT, watch)
        t.add_manager(USERS[role + "_members"], CLASS)
    return t


def seeded_state(state: str) -> MemoryForumState:
    forum = MemoryForumState()
    if state == "not_started":
        return forum
    status, updated = {
        "open": (ThreadStatus.WAITING_FOR_TRAINER, NOW - timedelta(hours=1)),
        "closed_recently": (ThreadStatus.CLOSED, NOW - timedelta(days=1)),
        "closed_long_ago": (ThreadStatus.CLOSED, NOW - timedelta(days=15)),
    }[state]
    with MemoryForumUnitOfWork(forum, InProcessNotifier()) as uow:
        uow.events.append(ev.message_posted(KEY, PARTICIPANT, SECRET_TEXT, "first", updated))
        uow.threads.save(Thread(KEY, status, HELPERS, 1, updated))
        uow.commit()
    return forum


def user_claims(user_id: int | None, **extra) -> dict:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int((NOW + timedelta(hours=1)).timestamp())}
    if user_id is not None:
        claims["sub"] = str(user_id)
    claims.update(extra)
    return claims


def sign(claims: dict) -> str:
    return jwt.encode(claims, rsa_key("idp"), "RS256")


def auth_headers(role: str, keys: KeyFiles) -> dict[str, str]:
    participant = user_claims(PARTICIPANT)
    if role in USERS:
        token = sign(user_claims(USERS[role]))
    elif role == "service":
        token = sign(user_claims(None, scope="forum:events"))
    elif role == "no_token":
        return {}
    elif role == "expired":
        token = sign({**participant, "exp": int((NOW - timedelta(minutes=5)).timestamp())})
    elif role == "tampered":
        token = tamper(sign(participant))
    elif role == "alg_none":
        token = handmade_token({"alg": "none", "typ": "JWT"}, participant)
    elif role == "alg_confusion":
        with open(keys.idp_public, "rb") as f:
            token = handmade_token({"alg": "HS256", "typ": "JWT"}, participant, hmac_key=f.read())
    elif role == "wrong_audience":
        token = sign({**participant, "aud": "another-service"})
    else:
        raise AssertionError(role)
    return {"Authorization": f"Bearer {token}"}


def request_for(op: str, state: str) -> tuple[str, str, dict | None]:
    opening_helper = {} if state == "open" else {"helper_group_id": str(HELPERS)}
    return {
        "read": ("GET", THREAD, None),
        "events": ("GET", THREAD + "/events", None),
        "messages": ("GET", THREAD + "/messages", None),
        "post": ("POST", THREAD + "/messages", {"text": "hello", "uuid": "second"}),
        "to_wfp": ("PUT", THREAD, {"status": "waiting_for_participant", **opening_helper}),
        "to_wft": ("PUT", THREAD, {"status": "waiting_for_trainer", **opening_helper}),
        "to_closed": ("PUT", THREAD, {"status": "closed"}),
        "count": ("PUT", THREAD, {"message_count_increment": 1}),
        "follow": ("PUT", THREAD + "/follow", None),
        "list": ("GET", f"/forum/threads?watched_group_id={CLASS}", None),
        "task_event": ("POST", THREAD + "/events", {"type": "attempt_started", "attempt_id": "5"}),
    }[op]


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def app(keys):
    # Overrides go in before create_app, which builds the authenticator (and its clock) at start.
    container = Container()
    container.forum.grant_tables.override(providers.Object(grant_tables()))
    container.core.clock.override(providers.Object(CLOCK))
    return create_app({
        "profile": "memory",
        "auth": "jwt",
        "grants": "tables",
        "jwt_algorithm": "RS256",
        "jwt_public_key_file": keys.idp_public,
        "jwt_private_key_file": keys.idp_private,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }, container)


@pytest.fixture(scope="module")
def headers_of(keys):
    return {role: auth_headers(role, keys) for role in ROLES}


def thread_fields_in(body: object) -> bool:
    text = repr(body)
    return SECRET_TEXT in text or "message_count" in text or "latest_update_at" in text


@pytest.mark.parametrize(
    "role, op, state", [pytest.param(r, o, s, id=f"{r}-{o}-{s}") for r, o, s in itertools.product(ROLES, OPS, STATES)]
)
def test_matrix(app, headers_of, keys, role, op, state):
    app.container.forum.state.override(providers.Object(seeded_state(state)))
    method, path, body = request_for(op, state)
    response = app.test_client().open(path, method=method, json=body, headers=headers_of[role])
    expected = EXPECTED[(role, op, state)]
    status = 200 if expected in ("in", "out") else int(expected)
    assert response.status_code == status, response.get_json()
    payload = response.get_json()

    if status >= 400:
        assert payload["success"] is False and not thread_fields_in(payload)
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        return
    if op == "list":
        listed = [(t["item_id"], t["participant_id"]) for t in payload]
        assert ((str(ITEM), str(PARTICIPANT)) in listed) == (expected == "in")
        if expected == "out":
            assert not thread_fields_in(payload)
        return
    # Closing an open thread stamps latest_update_at (recently closed); restating the status of a
    # closed thread changes nothing, so its two-week window does not move; opening leaves it open.
    after = {"to_wfp": "open", "to_wft": "open"}.get(op, state)
    if op == "to_closed" and not state.startswith("closed"):
        after = "closed_recently"
    readable = EXPECTED[(role, "read", after)] == "200"
    if op == "read":
        check_thread_token(payload["token"], role, state)
    elif op in ("events", "messages"):
        texts = [e.get("text") for e in payload]
        assert texts == ([] if state == "not_started" else [SECRET_TEXT])
    elif op == "post":
        assert payload["data"]["text"] == "hello"
    elif method == "PUT" and op != "follow":
        data = payload["data"]
        if op.startswith("to_"):
            assert data["status"] == {"to_wfp": "waiting_for_participant", "to_wft": "waiting_for_trainer",
                                      "to_closed": "closed"}[op]
        if readable:
            check_thread_token(data["token"], role, after, after_update=True)
        else:
            # An update that ends the user's own read access must not hand them the thread.
            assert set(data) == {"item_id", "participant_id", "status"} and not thread_fields_in(payload)


def check_thread_token(token: str, role: str, state: str, after_update: bool = False) -> None:
    claims = jwt.decode(token, rsa_key("idp").public_key(), algorithms=["RS512"], options={"verify_exp": False})
    assert claims["item_id"] == str(ITEM) and claims["participant_id"] == str(PARTICIPANT)
    assert claims["user_id"] == str(USERS[role])
    assert claims["is_mine"] is (role == "participant")
    assert claims["can_watch"] is (role == "watcher_answer_members")
    if not after_update:
        assert claims["can_write"] is (EXPECTED[(role, "post", state)] == "201")
    assert claims["exp"] == int((NOW + timedelta(hours=2)).timestamp())
    assert claims["date"] == "01-03-2026"


def test_the_table_covers_every_role_operation_and_state():
    assert len(EXPECTED) == len(ROLES) * len(OPS) * len(STATES) == 15 * 11 * 4


def test_a_helper_loses_a_closed_thread_two_weeks_after_it_closed(app, headers_of):
    """The same thread, read by the validated helper before and after the clock moves past two weeks."""
    app.container.forum.state.override(providers.Object(seeded_state("open")))
    client = app.test_client()
    participant = headers_of["participant"]
    try:
        assert client.put(THREAD, json={"status": "closed"}, headers=participant).status_code == 200
        CLOCK.advance(days=13, hours=23)
        helper = {"Authorization": "Bearer " + sign(user_claims(11, exp=int(CLOCK.now().timestamp()) + 3600))}
        assert client.get(THREAD, headers=helper).status_code == 200
        CLOCK.advance(hours=2)
        # Tokens are checked against the same clock, so the helper needs a fresh one for the new "now".
        helper = {"Authorization": "Bearer " + sign(user_claims(11, exp=int(CLOCK.now().timestamp()) + 3600))}
        assert client.get(THREAD, headers=helper).status_code == 403
        listed = client.get(f"/forum/threads?watched_group_id={CLASS}", headers=helper)
        assert listed.status_code == 200 and listed.get_json() == []
        # The participant's own token, minted before the jump, has expired meanwhile.
        assert client.get(THREAD, headers=participant).status_code == 401
    finally:
        CLOCK.current = NOW


def test_health_answers_without_a_token_and_the_forum_does_not(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/forum/threads?is_mine=1").status_code == 401
