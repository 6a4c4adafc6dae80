"""The websocket upgrade request, checked before the view starts the handshake.

The lean server socket (entrypoints/ws/server.py) answers the upgrade with 101 from the
Sec-WebSocket-Key as it finds it; a missing or wrong Sec-WebSocket-Version or Sec-WebSocket-Key,
or a Host that cannot be decoded, must be refused before that, or it would be an unhandled
exception inside the view, a 500. RFC 6455 §4.2.1–4.2.2 says what the server answers instead: 400 for a
malformed upgrade, and for a version it does not speak 426 Upgrade Required with the versions it
does speak in Sec-WebSocket-Version.
"""

from __future__ import annotations

import base64
import binascii

from flask import Flask, request
from werkzeug.routing import WebsocketMismatch
from wsproto.utilities import RemoteProtocolError

from entrypoints.http.errors import error_response

WEBSOCKET_VERSION = "13"
KEY_BYTES = 16  # RFC 6455 §4.1: the key is 16 random bytes, base64-encoded


def install(app: Flask) -> None:
    """Check every websocket upgrade before the websocket view starts the handshake."""
    app.before_request(refuse_bad_upgrade)
    # Anything else wsproto refuses in the request is the client's fault too; nothing was sent yet.
    app.register_error_handler(RemoteProtocolError, _refused_by_wsproto)
    app.register_error_handler(WebsocketMismatch, _not_an_upgrade)


def _not_an_upgrade(error: WebsocketMismatch):
    """A plain HTTP request to /ws (a browser's address bar, curl without --include the upgrade)."""
    return error_response(
        426,
        "/ws is a websocket endpoint: connect with a websocket client, e.g. "
        "new WebSocket('ws://HOST/ws?token=…'); the frames are described in the README",
        "upgrade_required",
        {"Upgrade": ["must be websocket"]},
        {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": WEBSOCKET_VERSION},
    )


def refuse_bad_upgrade():
    # Werkzeug routes a request to a websocket route only when it asks for the upgrade.
    if request.url_rule is None or not request.url_rule.websocket:
        return None
    version = request.headers.get("Sec-WebSocket-Version")
    if version is None:
        return _bad_upgrade({"Sec-WebSocket-Version": [f"required, {WEBSOCKET_VERSION}"]})
    if version.strip() != WEBSOCKET_VERSION:
        return error_response(
            426,
            f"this server speaks websocket version {WEBSOCKET_VERSION} only",
            "upgrade_required",
            {"Sec-WebSocket-Version": [f"must be {WEBSOCKET_VERSION}"]},
            {"Sec-WebSocket-Version": WEBSOCKET_VERSION},
        )
    if not _is_key(request.headers.get("Sec-WebSocket-Key")):
        return _bad_upgrade({"Sec-WebSocket-Key": [f"required, {KEY_BYTES} bytes in base64"]})
    if not _is_host(request.headers.get("Host")):
        return _bad_upgrade({"Host": ["required, an ASCII host name"]})
    return None


def _is_key(value: str | None) -> bool:
    if value is None or not value.isascii():
        return False
    try:
        return len(base64.b64decode(value.strip(), validate=True)) == KEY_BYTES
    except (binascii.Error, ValueError):
        return False


def _is_host(value: str | None) -> bool:
    """wsproto decodes the Host as IDNA; what it cannot decode would fail there."""
    if not value or not value.isascii():
        return False
    try:
        value.encode().decode("idna")
    except UnicodeError:
        return False
    return True


def _bad_upgrade(details: dict[str, list[str]]):
    return error_response(400, "malformed websocket upgrade", "bad_websocket_upgrade", details)


def _refused_by_wsproto(error: RemoteProtocolError):
    return _bad_upgrade({"upgrade": [str(error)]})
