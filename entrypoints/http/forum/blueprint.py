"""The /forum blueprint and what its views share: the thread path and the one injection."""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject

from application.forum.deps import ForumDeps
from entrypoints.http.blueprint import Blueprint

bp = Blueprint("forum", __name__, url_prefix="/forum", description="Discussion threads on a learner's work")
THREAD = "/items/<id64:item_id>/participant/<id64:participant_id>/thread"


@inject
def forum_deps(forum: ForumDeps = Provide["forum.deps"]) -> ForumDeps:
    """The forum's dependencies: the views' only injection, so the container can move them in one place."""
    return forum
