"""The web client at /app (static files, plain JavaScript modules) and its development sign-in.

The sign-in mints a development token for one of the demo identities (entrypoints/demo.py) with
the same settings as `parley token`. It exists only on the demo profiles (embedded, memory): on a
server profile it answers 404, as if it were not there, so a deployment never hands out tokens.
"""

from __future__ import annotations

from pathlib import Path

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, current_app, jsonify, request, send_from_directory

from adapters.auth.jwt import AuthConfigurationError
from entrypoints.demo import DEMO_PROFILES, DEMO_USERS, DemoUser, demo_user
from entrypoints.http.common import created
from entrypoints.http.errors import error_response

STATIC = Path(__file__).parent / "static"

bp = Blueprint("webapp", __name__, url_prefix="/app")


def _public(user: DemoUser) -> dict:
    return {"user_id": str(user.user_id), "handle": user.handle, "display_name": user.display_name, "role": user.role}


def _not_here():
    return error_response(404, "the development sign-in exists only on the embedded and memory profiles", "not_found")


def _demo_profile() -> bool:
    return current_app.container.config.profile() in DEMO_PROFILES


@bp.get("/")
def index():
    return send_from_directory(STATIC, "index.html")


@bp.get("/<path:name>")
def static_file(name: str):
    # send_from_directory refuses paths that leave the folder (a 404).
    return send_from_directory(STATIC, name)


@bp.get("/dev-sign-in")
def demo_users():
    """Who one may sign in as (the page's picker); 404 outside the demo profiles."""
    if not _demo_profile():
        return _not_here()
    return jsonify([_public(user) for user in DEMO_USERS])


@bp.post("/dev-sign-in")
def dev_sign_in():
    """`{"user_id": 1}` → a development token for that demo user."""
    if not _demo_profile():
        return _not_here()
    body = request.get_json(silent=True)
    raw = body.get("user_id") if isinstance(body, dict) else None
    user = demo_user(int(raw)) if _is_small_id(raw) else None
    if user is None:
        ids = ", ".join(str(u.user_id) for u in DEMO_USERS)
        return error_response(422, "user_id must be a demo user", "invalid_request", {"user_id": [f"one of {ids}"]})
    try:
        token = _mint(user.user_id)
    except AuthConfigurationError as err:
        return error_response(404, f"no development signing key: {err}", "not_found")
    return created({"token": token, "user": _public(user)})


def _is_small_id(raw) -> bool:
    if isinstance(raw, bool):
        return False
    if isinstance(raw, int):
        return 0 < raw < 10**6
    return isinstance(raw, str) and raw.isascii() and raw.isdigit() and 0 < len(raw) <= 6


@inject
def _mint(user_id: int, minter=Provide["core.token_minter"]) -> str:
    return minter.mint(user_id)
