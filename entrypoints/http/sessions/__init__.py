"""The /sessions blueprint (issue 16), a flask-smorest Blueprint: sessions that back access tokens.

Every endpoint needs an identity. A user sees and ends only their own sessions; a credential with
the `sessions:admin` scope acts for any customer (`customer_id`). Someone else's session answers
404, as an unknown one does.
"""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask import g, jsonify
from flask_smorest import Blueprint

from application.sessions import use_cases as uc
from domain.sessions.model import ChildSession, Session, parse_label, parse_session_id
from domain.shared import rfc3339
from entrypoints.http.common import authenticate_request, write_reply
from entrypoints.http.sessions import schemas
from entrypoints.http.sessions.parser import EnvelopeParser

bp = Blueprint("sessions", __name__, url_prefix="/sessions", description="Sessions and session-bound tokens")
bp.ARGUMENTS_PARSER = EnvelopeParser()
bp.before_request(authenticate_request)

Deps = uc.SessionDeps
DEPS = Provide["sessions.deps"]


def session_json(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "customer_id": str(session.customer_id),
        "session_state": session.state.value,
        "last_login_time": rfc3339(session.last_login_time),
        "last_active_at": rfc3339(session.last_active_at),
        "expires_at": rfc3339(session.expires_at),
        "lifetime_ends_at": rfc3339(session.lifetime_ends_at),
        "child_session_ids": list(session.child_ids),
    }


def child_json(child: ChildSession) -> dict[str, Any]:
    return {
        "id": child.id,
        "session_id": child.session_id,
        "customer_id": str(child.customer_id),
        "created_at": rfc3339(child.created_at),
        "label": child.label,
    }


def issued_json(issued: uc.IssuedSession) -> dict[str, Any]:
    return {
        **session_json(issued.session),
        "access_token": issued.access_token,
        "token_expires_at": rfc3339(issued.token_expires_at),
    }


@bp.route("", methods=["POST"])
@bp.arguments(schemas.CreateSessionBody, location="json", required=False)
@inject
def create_session(body: dict, deps: Deps = DEPS):
    issued = uc.create_session(deps, g.actor, body.get("customer_id"))
    return write_reply("created", issued_json(issued), 201)


@bp.route("", methods=["GET"])
@bp.arguments(schemas.SessionsQuery, location="query")
@inject
def list_sessions(query: dict, deps: Deps = DEPS):
    found = uc.sessions_of_customer(deps, g.actor, query.get("customer_id"), query.get("before"), query["limit"])
    return jsonify([{**session_json(s), "cursor": s.id} for s in found])


@bp.route("/ids", methods=["GET"])
@bp.arguments(schemas.SessionsQuery, location="query")
@inject
def list_session_ids(query: dict, deps: Deps = DEPS):
    found = uc.session_ids_of_customer(deps, g.actor, query.get("customer_id"), query.get("before"), query["limit"])
    return jsonify([{"id": ref.id, "cursor": ref.id} for ref in found])


@bp.route("/last-login", methods=["GET"])
@bp.arguments(schemas.CustomerQuery, location="query")
@inject
def last_login(query: dict, deps: Deps = DEPS):
    customer, when = uc.last_login(deps, g.actor, query.get("customer_id"))
    return jsonify({"customer_id": str(customer), "last_login_time": None if when is None else rfc3339(when)})


@bp.route("/by-child/<child_id>", methods=["GET"])
@inject
def session_of_child(child_id: str, deps: Deps = DEPS):
    return jsonify(session_json(uc.session_of_child(deps, g.actor, parse_session_id(child_id, "child_id"))))


@bp.route("/<session_id>", methods=["GET"])
@inject
def get_session(session_id: str, deps: Deps = DEPS):
    return jsonify(session_json(uc.get_session(deps, g.actor, parse_session_id(session_id))))


@bp.route("/<session_id>", methods=["DELETE"])
@inject
def end_session(session_id: str, deps: Deps = DEPS):
    ended = uc.end_session(deps, g.actor, parse_session_id(session_id))
    return write_reply("deleted", {"id": ended.id, "session_state": ended.state.value})


@bp.route("/<session_id>/token", methods=["POST"])
@inject
def renew_token(session_id: str, deps: Deps = DEPS):
    issued = uc.renew_token(deps, g.actor, parse_session_id(session_id))
    return write_reply("created", issued_json(issued), 201)


@bp.route("/<session_id>/children", methods=["POST"])
@bp.arguments(schemas.CreateChildBody, location="json", required=False)
@inject
def create_child(body: dict, session_id: str, deps: Deps = DEPS):
    child = uc.create_child(deps, g.actor, parse_session_id(session_id), parse_label(body.get("label")))
    return write_reply("created", child_json(child), 201)


@bp.route("/<session_id>/children", methods=["GET"])
@inject
def list_children(session_id: str, deps: Deps = DEPS):
    return jsonify([child_json(c) for c in uc.list_children(deps, g.actor, parse_session_id(session_id))])
