"""Helpers shared by the blueprints: the acting user, the NUL refusal, and the write replies."""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask import g, jsonify, request

from application.shared import Actor, Authenticator
from domain.shared import InvalidRequest


def refuse_nul_in_url() -> None:
    """App hook: a NUL in the path or query string is a 400 for every route.

    PostgreSQL cannot store or even compare text holding NUL, so one reaching a query (a message
    uuid in the path, say) would fail there as a 500; no identifier or parameter of ours has one.
    """
    if "\x00" in request.path:
        raise InvalidRequest("NUL in the path", {"path": ["must not contain NUL (%00)"]})
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidRequest("NUL in the query string", {"query": ["must not contain NUL (%00)"]})


@inject
def current_actor(authenticator: Authenticator = Provide["core.authenticator"]) -> Actor:
    return authenticator.authenticate(request.headers)


def authenticate_request() -> None:
    """Blueprint hook: every endpoint behind it needs an identity, checked before anything else."""
    g.actor = current_actor()


def write_reply(message: str, data: Any, status: int = 200, headers: dict | None = None):
    response = jsonify({"success": True, "message": message, "data": data})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def created(data: Any, headers: dict | None = None):
    """AlgoREA's reply to a write that made something: 201 `{success, message: "created", data}`."""
    return write_reply("created", data, 201, headers)


def updated(data: Any, headers: dict | None = None):
    return write_reply("updated", data, 200, headers)


def deleted(data: Any, headers: dict | None = None):
    return write_reply("deleted", data, 200, headers)
