"""The benchmark peer: what a Flask user would otherwise write, Flask-SocketIO in its gevent mode.

    gunicorn -k gevent -w 1 --worker-connections 20000 bench.socketio_app:app

Same routes and same payloads as Parley's live path: a client joins the room of a thread with a
`subscribe` event and gets `subscribed`; a POST of a message answers 201 with the event and emits
`{"topic": "forum.thread", "event": {…}}` (the very dict Parley sends) to the room. Nothing is
stored: this measures the delivery machinery only, so Parley's storage is the memory profile in
the comparison.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from flask_socketio import SocketIO, emit, join_room, leave_room

app = Flask(__name__)
# gevent is python-socketio's recommended asynchronous mode under gunicorn (with simple-websocket).
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*")
_seq = itertools.count(1)


def _room(item_id: str, participant_id: str) -> str:
    return f"forum.thread.{participant_id}.{item_id}"


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@socketio.on("subscribe")
def subscribe(frame):
    join_room(_room(str(frame.get("item_id")), str(frame.get("participant_id"))))
    emit("subscribed", {"type": "subscribed", "id": frame.get("id"), "events": [], "cursor": None})


@socketio.on("unsubscribe")
def unsubscribe(frame):
    leave_room(_room(str(frame.get("item_id")), str(frame.get("participant_id"))))


@app.post("/forum/items/<item_id>/participant/<participant_id>/thread/messages")
def post_message(item_id: str, participant_id: str):
    body = request.get_json(force=True)
    seq = next(_seq)
    event = {
        "cursor": base64.urlsafe_b64encode(f"e1.{seq}".encode()).decode().rstrip("="),
        "type": "message",
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user_id": request.headers.get("X-Parley-User"),
        "item_id": item_id,
        "participant_id": participant_id,
        "text": body["text"],
        "uuid": body["uuid"],
    }
    socketio.emit("event", {"topic": "forum.thread", "event": event}, to=_room(item_id, participant_id))
    return jsonify({"success": True, "message": "created", "data": event}), 201
