"""Helpers shared by the blueprints: reading JSON bodies and query strings, the acting user, replies."""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask import g, jsonify, request
from marshmallow import Schema

from application.shared import Actor, Authenticator
from domain.shared import InvalidRequest
from entrypoints.http.errors import UnsupportedMediaType


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


def json_body(schema: Schema) -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("request body must be JSON", {"Content-Type": ["use application/json"]})
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deep enough to exhaust the parser is malformed input, not a 500
        data = None
    if data is None:
        raise InvalidRequest("malformed JSON body", {"body": ["is not valid JSON"]})
    if not isinstance(data, dict):
        raise InvalidRequest("JSON body must be an object", {"body": ["must be a JSON object"]})
    return schema.load(data)


def query_args(schema: Schema) -> dict[str, Any]:
    args = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise InvalidRequest("repeated query parameter", {name: ["give it once"]})
        args[name] = values[0]
    return schema.load(args)


@inject
def current_actor(authenticator: Authenticator = Provide["authenticator"]) -> Actor:
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
