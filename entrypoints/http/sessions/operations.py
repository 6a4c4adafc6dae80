"""The OpenAPI entries of the /sessions endpoints (entrypoints/http/openapi.py merges them)."""

from __future__ import annotations

from typing import Any

from entrypoints.http.sessions import schemas


def session_operations(Op: Any, READ: tuple[int, ...], WRITE: tuple[int, ...]) -> dict[str, Any]:  # noqa: N803
    return {
        "sessions.create_session": Op(
            "Create a session for the caller (or, with sessions:admin, any customer); returns its access token",
            schemas.SessionCreated, status=201, errors=WRITE + (409, 415), body=schemas.CreateSessionBody,
            tag="sessions", example={},
            description="The token is a short-lived JWT carrying the session id (`sid`); renew it with "
            "POST /sessions/{session_id}/token while the session lives. Once the session ends, every request "
            "with its tokens is refused (401) and its websockets close (4401) within the bound in docs/sessions.md.",
        ),
        "sessions.list_sessions": Op(
            "A customer's live sessions, newest first", schemas.SessionListItem,
            query=schemas.SessionsQuery, many=True, tag="sessions",
        ),
        "sessions.list_session_ids": Op(
            "A customer's live session ids, newest first", schemas.SessionRefOut,
            query=schemas.SessionsQuery, many=True, tag="sessions",
        ),
        "sessions.last_login": Op(
            "A customer's latest login time (null before the first)", schemas.LastLoginOut,
            query=schemas.CustomerQuery, tag="sessions",
        ),
        "sessions.session_of_child": Op(
            "The session a child session belongs to", schemas.SessionOut, errors=READ + (404,), tag="sessions"
        ),
        "sessions.get_session": Op("Read a live session", schemas.SessionOut, errors=READ + (404,), tag="sessions"),
        "sessions.end_session": Op(
            "End a session (closing, then gone) with its children; its tokens stop working", schemas.SessionEnded,
            errors=WRITE + (404, 409), tag="sessions",
        ),
        "sessions.renew_token": Op(
            "A fresh access token for a live session; pushes its idle deadline", schemas.SessionCreated,
            status=201, errors=WRITE + (404, 409), tag="sessions",
        ),
        "sessions.create_child": Op(
            "Add a child session (a device, a tab, a websocket); it ends with its session", schemas.ChildCreated,
            status=201, errors=WRITE + (404, 409, 415), body=schemas.CreateChildBody, tag="sessions",
            example={"label": "tab"},
        ),
        "sessions.list_children": Op(
            "A session's child sessions", schemas.ChildOut, many=True, errors=READ + (404,), tag="sessions"
        ),
    }
