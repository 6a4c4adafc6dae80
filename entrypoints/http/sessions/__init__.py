"""The /sessions API (issue 16): sessions that back access tokens, on the platform's Blueprint.

Every endpoint needs an identity. A user sees and ends only their own sessions; a credential with
the `sessions:admin` scope acts for any customer (`customer_id`). Someone else's session answers
404, as an unknown one does. The bodies here have only optional fields, so an empty body (a bare
`curl -X POST`) counts as `{}`.
"""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask import Request, g
from marshmallow import Schema

from application.sessions import use_cases as uc
from domain.sessions.model import ChildSession, Session, parse_label, parse_session_id
from domain.shared import rfc3339
from entrypoints.http.arguments import EnvelopeParser
from entrypoints.http.blueprint import Blueprint
from entrypoints.http.common import created, deleted
from entrypoints.http.sessions import schemas


class OptionalBodyParser(EnvelopeParser):
    def load_json(self, req: Request, schema: Schema) -> Any:
        if not req.get_data(cache=True):
            return {}
        return super().load_json(req, schema)


bp = Blueprint("sessions", __name__, url_prefix="/sessions", description="Sessions and session-bound tokens")
bp.ARGUMENTS_PARSER = OptionalBodyParser()
SESSION = "/<session_id>"


@inject
def sessions_deps(deps: uc.SessionDeps = Provide["sessions.deps"]) -> uc.SessionDeps:
    return deps


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


@bp.post("")
@bp.arguments(schemas.CreateSessionBody, required=False, example={})
@bp.response(201, schemas.SessionCreated)
@bp.errors(409)
def create_session(body: dict):
    """Create a session for the caller (or, with sessions:admin, any customer) and its access token

    The token is a short-lived JWT carrying the session id (`sid`); renew it with
    POST /sessions/{session_id}/token while the session lives. Once the session ends, every request
    with its tokens is refused (401) and its websockets close (4401) within the bound in
    docs/sessions.md.
    """
    return created(issued_json(uc.create_session(sessions_deps(), g.actor, body.get("customer_id"))))


@bp.get("")
@bp.arguments(schemas.SessionsQuery, location="query")
@bp.response(200, schemas.SessionListItem(many=True))
def list_sessions(query: dict):
    """A customer's live sessions, newest first"""
    found = uc.sessions_of_customer(sessions_deps(), g.actor, query.get("customer_id"), query.get("before"),
                                    query["limit"])
    return [{**session_json(s), "cursor": s.id} for s in found]


@bp.get("/ids")
@bp.arguments(schemas.SessionsQuery, location="query")
@bp.response(200, schemas.SessionRefOut(many=True))
def list_session_ids(query: dict):
    """A customer's live session ids, newest first"""
    found = uc.session_ids_of_customer(sessions_deps(), g.actor, query.get("customer_id"), query.get("before"),
                                       query["limit"])
    return [{"id": ref.id, "cursor": ref.id} for ref in found]


@bp.get("/last-login")
@bp.arguments(schemas.CustomerQuery, location="query")
@bp.response(200, schemas.LastLoginOut)
def last_login(query: dict):
    """A customer's latest login time (null before the first)"""
    customer, when = uc.last_login(sessions_deps(), g.actor, query.get("customer_id"))
    return {"customer_id": str(customer), "last_login_time": None if when is None else rfc3339(when)}


@bp.get("/by-child/<child_id>")
@bp.response(200, schemas.SessionOut)
@bp.errors(404)
def session_of_child(child_id: str):
    """The session a child session belongs to"""
    return session_json(uc.session_of_child(sessions_deps(), g.actor, parse_session_id(child_id, "child_id")))


@bp.get(SESSION)
@bp.response(200, schemas.SessionOut)
@bp.errors(404)
def get_session(session_id: str):
    """Read a live session"""
    return session_json(uc.get_session(sessions_deps(), g.actor, parse_session_id(session_id)))


@bp.delete(SESSION)
@bp.response(200, schemas.SessionEnded)
@bp.errors(404, 409)
def end_session(session_id: str):
    """End a session (closing, then gone) with its children; its tokens stop working"""
    ended = uc.end_session(sessions_deps(), g.actor, parse_session_id(session_id))
    return deleted({"id": ended.id, "session_state": ended.state.value})


@bp.post(SESSION + "/token")
@bp.response(201, schemas.SessionCreated)
@bp.errors(404, 409)
def renew_token(session_id: str):
    """A fresh access token for a live session; pushes its idle deadline"""
    return created(issued_json(uc.renew_token(sessions_deps(), g.actor, parse_session_id(session_id))))


@bp.post(SESSION + "/children")
@bp.arguments(schemas.CreateChildBody, required=False, example={"label": "tab"})
@bp.response(201, schemas.ChildCreated)
@bp.errors(404, 409)
def create_child(body: dict, session_id: str):
    """Add a child session (a device, a tab, a websocket); it ends with its session"""
    child = uc.create_child(sessions_deps(), g.actor, parse_session_id(session_id), parse_label(body.get("label")))
    return created(child_json(child))


@bp.get(SESSION + "/children")
@bp.response(200, schemas.ChildOut(many=True))
@bp.errors(404)
def list_children(session_id: str):
    """A session's child sessions"""
    return [child_json(c) for c in uc.list_children(sessions_deps(), g.actor, parse_session_id(session_id))]
