"""AlgoREA's front end against a real gunicorn server, replaying its own calls to the serverless
forum API and websocket (AlgoreaFrontend: thread-message.service, threadSubscription.effects,
notification.service), with RS512 tokens signed by a test key as AlgoREA's backend signs them:
open a thread's messages, post, follow, subscribe, get the push, lose the socket while someone
else posts, come back with `since` and get exactly the missed message, once."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.clients import WsClient, http
from tests.support.live_server import run_cli, start_server
from tests.unit.auth.keys import KeyFiles, rsa_key

pytestmark = pytest.mark.integration
LEARNER, TRAINER = 1, 7
ITEM = 100
THREAD = f"/sls/forum/thread/{ITEM}/{LEARNER}"
QUIET_SECONDS = 0.5  # how long "nothing more arrives" is watched for


def _now() -> datetime:
    return datetime.now(UTC)


def thread_token(user: int, **claims) -> str:
    now = _now()
    payload = {"item_id": str(ITEM), "participant_id": str(LEARNER), "user_id": str(user),
               "is_mine": user == LEARNER, "can_watch": user == TRAINER, "can_write": True,
               "exp": int((now + timedelta(hours=2)).timestamp()), "date": now.strftime("%d-%m-%Y"), **claims}
    return jwt.encode(payload, rsa_key("algorea"), "RS512")


def identity_token(user: int) -> str:
    now = _now()
    payload = {"user_id": str(user), "is_temp_user": False, "exp": int((now + timedelta(hours=2)).timestamp()),
               "date": now.strftime("%d-%m-%Y")}
    return jwt.encode(payload, rsa_key("algorea"), "RS512")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module", params=["embedded", "algorea"])
def server(request, tmp_path_factory):
    logs = tmp_path_factory.mktemp(f"algorea-sls-{request.param}")
    keys = KeyFiles.write(logs)
    env = {
        "PARLEY_GRANTS": "algorea_tokens",
        "PARLEY_ALGOREA_PUBLIC_KEY_FILE": keys.algorea_public,
        "PARLEY_WRITE_RATE_LIMIT": "off",
        "PARLEY_RATE_LIMIT_STORAGE_URL": "memory://",
        "PARLEY_LOG_LEVEL": "warning",
    }
    if request.param == "embedded":
        env |= {"PARLEY_PROFILE": "embedded", "PARLEY_DATABASE_URL": f"sqlite:///{logs / 'parley.sqlite3'}"}
    else:
        env |= {
            "PARLEY_PROFILE": "algorea",
            "PARLEY_DATABASE_URL": request.getfixturevalue("postgres_url"),
            "PARLEY_DYNAMODB_ENDPOINT_URL": request.getfixturevalue("dynamodb_endpoint"),
            "PARLEY_DYNAMODB_TABLE_PREFIX": f"sls{uuid.uuid4().hex[:8]}_",
        }
        run_cli(env, "db", "upgrade")
        run_cli(env, "dynamodb", "create-tables")
    live = start_server(env, logs, gunicorn=True)
    yield live
    live.stop()


def call(server, method: str, path: str, token: str, body=None):
    return http(method, server.url + path, body, bearer(token))


def socket(server, user: int) -> WsClient:
    return WsClient(f"ws://127.0.0.1:{server.port}/sls/ws?token={identity_token(user)}")


def subscribe(client: WsClient, frame: dict) -> None:
    """AlgoREA's subscribe has no reply; Parley's `ping` beside it does, and frames are handled in
    order: its `pong` says the subscription is in place (the front end posts later, on a click)."""
    client.send(frame)
    client.send({"action": "ping", "id": "after-subscribe"})
    assert client.recv() == {"type": "pong", "id": "after-subscribe"}


def quiet(client: WsClient) -> bool:
    try:
        client.recv(timeout=QUIET_SECONDS)
    except TimeoutError:
        return True
    return False


def wait_for_notification(server, user: int, uuid_: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        status, body, _ = call(server, "GET", "/sls/notifications", identity_token(user))
        assert status == 200, body
        found = [n for n in body["notifications"] if n["payload"]["uuid"] == uuid_]
        if found:
            return found[0]
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_the_front_ends_calls_lose_nothing_across_a_reconnect(server):
    # The trainer opens the learner's thread (the backend's PUT; AlgoREA's own backend or Parley's).
    status, body, _ = http("PUT", f"{server.url}/forum/items/{ITEM}/participant/{LEARNER}/thread",
                           {"status": "waiting_for_trainer", "helper_group_id": "50"}, bearer(thread_token(TRAINER)))
    assert status == 200, body

    # The learner opens the thread: its messages (limit 11, as the front end asks), its follow status.
    status, listed, _ = call(server, "GET", THREAD + "/messages?limit=11", thread_token(LEARNER))
    assert (status, listed) == (200, [])
    status, followed, _ = call(server, "GET", THREAD + "/follows", identity_token(LEARNER))
    assert (status, followed) == (200, {"isFollowing": True})  # opening made the participant a follower

    learner = socket(server, LEARNER)
    subscribe(learner, {"action": "forum.subscribe", "token": thread_token(LEARNER)})
    status, created, _ = call(server, "POST", THREAD + "/messages", thread_token(LEARNER),
                              {"text": "I am stuck", "uuid": "m-1"})
    assert (status, created) == (201, {"message": "created", "success": True})
    own = learner.recv()
    assert {k: own[k] for k in ("action", "participantId", "itemId", "authorId", "text", "uuid")} == {
        "action": "forum.message.new", "participantId": str(LEARNER), "itemId": str(ITEM),
        "authorId": str(LEARNER), "text": "I am stuck", "uuid": "m-1"}
    learner.send({"action": "heartbeat"})

    # The trainer follows; the learner's socket drops; the trainer answers meanwhile.
    status, _, _ = call(server, "POST", THREAD + "/follows", thread_token(TRAINER))
    assert status == 201
    learner.close()
    time.sleep(0.2)  # the server notices the socket is gone and drops its subscription
    answer = {"text": "Try a loop", "uuid": "m-2"}
    status, _, _ = call(server, "POST", THREAD + "/messages", thread_token(TRAINER), answer)
    assert status == 201
    notification = wait_for_notification(server, LEARNER, "m-2")  # not watching: a stored notification
    assert notification["notificationType"] == "forum.new_message"

    # Back with `since`: exactly the missed message, once, then live ones.
    learner = socket(server, LEARNER)
    learner.send({"action": "forum.subscribe", "token": thread_token(LEARNER), "since": own["time"]})
    missed = learner.recv()
    assert (missed["action"], missed["uuid"], missed["authorId"]) == ("forum.message.new", "m-2", str(TRAINER))
    assert quiet(learner)
    call(server, "POST", THREAD + "/messages", thread_token(TRAINER), {"text": "Or recursion", "uuid": "m-3"})
    assert learner.recv()["uuid"] == "m-3"
    assert quiet(learner)
    learner.close()

    status, listed, _ = call(server, "GET", THREAD + "/messages", thread_token(LEARNER))
    assert [m["uuid"] for m in listed] == ["m-3", "m-2", "m-1"]
    status, body, _ = call(server, "DELETE", f"/sls/notifications/{notification['sk']}", identity_token(LEARNER))
    assert (status, body) == (200, {"message": "deleted", "success": True})


def test_the_socket_is_refused_without_an_identity_token(server):
    for query in ("", f"?token={thread_token(LEARNER)}"):
        with pytest.raises(InvalidStatus) as refused:
            WsClient(f"ws://127.0.0.1:{server.port}/sls/ws{query}")
        assert refused.value.response.status_code == 401
