"""The framework floor: a bare Flask app doing a post's and a page's storage work without Parley's layers.

    gunicorn -c gunicorn.conf.py bench.floor_app:app   (started by bench/write_path.py, read_path.py)

What it keeps of Parley's request: the same URL, the same HS256 JWT check (pyjwt, `exp` required),
the same JSON in and out, and the same rows in the same backend, under the same gunicorn gevent
worker and settings. What it drops: flask-smorest's schemas, the container, units of work,
authorisation, idempotency checks, follows, notifications and live delivery. Parley's figure
divided by this one is how much of what Flask itself allows Parley keeps (issue 20).

- post: one transaction that bumps the thread's sequence, inserts the message event and updates
  the thread (sqlite3 or psycopg, no ORM); on DynamoDB a GetItem of the thread's counter and one
  TransactWriteItems with the counter, the event, its uuid copy and the thread.
- page: the keyset query for 20 messages before a cursor (one SELECT, or one DynamoDB Query).

Configured by environment: FLOOR_BACKEND (sqlite | postgres | dynamodb), FLOOR_TARGET (the SQLite
file, the psycopg DSN, or the DynamoDB endpoint), FLOOR_TABLE (the DynamoDB table),
PARLEY_JWT_SECRET. SQLite writers are serialised by a lock in the process (gevent's, once
patched), the way a hand-written gevent app keeps SQLite's busy handler from sleeping the hub.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import jwt
from flask import Flask, jsonify, request

from domain.shared import Cursor

app = Flask(__name__)
BACKEND = os.environ.get("FLOOR_BACKEND", "sqlite")
TARGET = os.environ.get("FLOOR_TARGET", "")
TABLE = os.environ.get("FLOOR_TABLE", "")
SECRET = os.environ.get("PARLEY_JWT_SECRET", "")
POOL = 20
_write_lock = threading.Lock()
_pool: queue.Queue = queue.Queue()
_made = 0
_made_lock = threading.Lock()


def _user() -> int | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"], options={"require": ["exp"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def _connect():
    if BACKEND == "sqlite":
        db = sqlite3.connect(TARGET, isolation_level=None, check_same_thread=False, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db
    if BACKEND == "postgres":
        import psycopg

        return psycopg.connect(TARGET, autocommit=True)
    from bench.common import dynamodb_client

    return dynamodb_client(TARGET)


@contextmanager
def _connection():
    global _made
    try:
        db = _pool.get_nowait()
    except queue.Empty:
        with _made_lock:
            grow = _made < POOL
            _made += grow
        db = _connect() if grow else _pool.get()
    try:
        yield db
    finally:
        _pool.put(db)


_PH = "?" if BACKEND == "sqlite" else "%s"
SEQ_SQL = (
    f"INSERT INTO thread_sequences (item_id, participant_id, last_seq) VALUES ({_PH}, {_PH}, 1) "
    "ON CONFLICT (item_id, participant_id) DO UPDATE SET last_seq = thread_sequences.last_seq + 1 "
    "RETURNING last_seq"
)
EVENT_SQL = (
    "INSERT INTO thread_events (item_id, participant_id, seq, type, time, user_id, message_uuid, data) "
    f"VALUES ({', '.join([_PH] * 8)})"
)
THREAD_SQL = (
    f"UPDATE threads SET message_count = message_count + 1, latest_update_at = {_PH} "
    f"WHERE item_id = {_PH} AND participant_id = {_PH}"
)
PAGE_SQL = (
    "SELECT item_id, participant_id, seq, type, time, user_id, message_uuid, data FROM thread_events "
    f"WHERE item_id = {_PH} AND participant_id = {_PH} AND type = 'message' AND seq < {_PH} "
    f"ORDER BY seq DESC LIMIT {_PH}"
)


def _public(item: int, participant: int, seq: int, when: datetime, user: int, data: dict) -> dict:
    return {
        "cursor": Cursor(seq).encode(),
        "type": "message",
        "time": when.isoformat().replace("+00:00", "Z"),
        "user_id": str(user),
        "item_id": str(item),
        "participant_id": str(participant),
        **data,
    }


def _post_sql(item: int, participant: int, user: int, data: dict, now: datetime) -> int:
    stamp = now.replace(tzinfo=None).isoformat(sep=" ") if BACKEND == "sqlite" else now
    with _connection() as db:
        lock = _write_lock if BACKEND == "sqlite" else _NoLock
        with lock:
            db.execute("BEGIN IMMEDIATE" if BACKEND == "sqlite" else "BEGIN")
            try:
                seq = db.execute(SEQ_SQL, (item, participant)).fetchone()[0]
                db.execute(
                    EVENT_SQL, (item, participant, seq, "message", stamp, user, data["uuid"], json.dumps(data))
                )
                db.execute(THREAD_SQL, (stamp, item, participant))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    return seq


class _NoLockType:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NoLock = _NoLockType()


def _post_dynamodb(item: int, participant: int, user: int, data: dict, now: datetime) -> int:
    tid = f"{participant}#{item}"
    now_ms = int(now.timestamp() * 1000)
    with _connection() as client:
        found = client.get_item(
            TableName=TABLE, Key={"PK": {"S": f"THREADSEQ#{tid}"}, "time": {"N": "0"}}, ConsistentRead=True
        ).get("Item")
        last = int(found["last_time"]["N"]) if found else None
        seq = max(now_ms, (last or 0) + 1)
        counter = {
            "TableName": TABLE,
            "Key": {"PK": {"S": f"THREADSEQ#{tid}"}, "time": {"N": "0"}},
            "UpdateExpression": "SET last_time = :new",
            "ExpressionAttributeValues": {":new": {"N": str(seq)}},
            "ConditionExpression": "attribute_not_exists(PK)" if last is None else "last_time = :old",
        }
        if last is not None:
            counter["ExpressionAttributeValues"][":old"] = {"N": str(last)}
        body = {
            "type": {"S": "message"},
            "created_at": {"N": str(now_ms)},
            "user_id": {"N": str(user)},
            "content": {"S": data["text"]},
            "uuid": {"S": data["uuid"]},
        }
        client.transact_write_items(
            TransactItems=[
                {"Update": counter},
                {
                    "Put": {
                        "TableName": TABLE,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": {"PK": {"S": f"THREADEV#{tid}"}, "time": {"N": str(seq)}, **body},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": {
                            "PK": {"S": f"THREADMSG#{tid}#{data['uuid']}"},
                            "time": {"N": "0"},
                            "seq": {"N": str(seq)},
                            **body,
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"PK": {"S": f"THREAD#{tid}"}, "time": {"N": "0"}},
                        "UpdateExpression": "SET latest_update_at = :t ADD message_count :one",
                        "ExpressionAttributeValues": {":t": {"N": str(now_ms)}, ":one": {"N": "1"}},
                    }
                },
            ],
            ClientRequestToken=str(uuid.uuid4()),
        )
    return seq


@app.post("/forum/items/<int:item>/participant/<int:participant>/thread/messages")
def post_message(item: int, participant: int):
    user = _user()
    if user is None:
        return jsonify(error="unauthenticated"), 401
    body = request.get_json(silent=True) or {}
    text, message_uuid = body.get("text"), body.get("uuid") or uuid.uuid4().hex
    if not isinstance(text, str) or not text.strip():
        return jsonify(error="text"), 400
    data = {"text": text.strip(), "uuid": message_uuid}
    now = datetime.now(UTC)
    post = _post_dynamodb if BACKEND == "dynamodb" else _post_sql
    seq = post(item, participant, user, data, now)
    return jsonify(_public(item, participant, seq, now, user, data)), 201


@app.get("/forum/items/<int:item>/participant/<int:participant>/thread/messages")
def list_messages(item: int, participant: int):
    user = _user()
    if user is None:
        return jsonify(error="unauthenticated"), 401
    limit = min(int(request.args.get("limit", 20)), 100)
    before = Cursor.decode(request.args["before"], "before").seq if "before" in request.args else 2**62
    with _connection() as db:
        if BACKEND == "dynamodb":
            items = db.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk AND #t < :b",
                ExpressionAttributeNames={"#t": "time"},
                ScanIndexForward=False,
                Limit=limit,
                ConsistentRead=True,
                ExpressionAttributeValues={
                    ":pk": {"S": f"THREADEV#{participant}#{item}"},
                    ":b": {"N": str(before)},
                },
            )["Items"]
            page = [
                _public(
                    item,
                    participant,
                    int(i["time"]["N"]),
                    datetime.fromtimestamp(int(i["created_at"]["N"]) / 1000, UTC),
                    int(i["user_id"]["N"]),
                    {"text": i["content"]["S"], "uuid": i["uuid"]["S"]},
                )
                for i in items
            ]
        else:
            rows = db.execute(PAGE_SQL, (item, participant, before, limit)).fetchall()
            page = [
                _public(r[0], r[1], r[2], _as_datetime(r[4]), r[5], _as_dict(r[7])) for r in rows
            ]
    return jsonify(page)


def _as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else json.loads(value)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok", time=time.time())
