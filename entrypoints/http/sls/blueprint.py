"""The serverless blueprint: a plain Flask blueprint (AlgoREA's shapes, not Parley's envelope),
mounted at PARLEY_ALGOREA_SLS_PREFIX by create_app."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from entrypoints.http.common import current_actor
from entrypoints.http.sls import errors

bp = Blueprint("sls", __name__)
errors.install(bp)


# AlgoREA's front end calls from its own origin; the credentials are bearer tokens, never cookies,
# so any origin may call, as AlgoREA serverless's CORS answers.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Length, X-Requested-With",
}


@bp.before_request
def authenticate() -> None:
    """Every route needs a credential, checked first (the rate limits count per user); which kind
    each route takes is checked by the route (credentials.py). A browser's preflight carries none."""
    if request.method != "OPTIONS":
        g.actor = current_actor()


@bp.after_request
def allow_other_origins(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    return response
