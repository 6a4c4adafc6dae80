"""The serverless blueprint: a plain Flask blueprint (AlgoREA's shapes, not Parley's envelope),
mounted at PARLEY_ALGOREA_SLS_PREFIX by create_app."""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, g

from application.forum.deps import ForumDeps
from entrypoints.http.common import current_actor
from entrypoints.http.sls import errors

bp = Blueprint("sls", __name__)
errors.install(bp)


@bp.before_request
def authenticate() -> None:
    """Every route needs a credential, checked first (the rate limits count per user); which kind
    each route takes is checked by the route (credentials.py)."""
    g.actor = current_actor()


@inject
def forum_deps(forum: ForumDeps = Provide["forum.deps"]) -> ForumDeps:
    return forum
