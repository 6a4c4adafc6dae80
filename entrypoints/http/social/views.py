"""The /social endpoints: thin views that parse, call a use case and render (DESIGN.md §4.1).

Lists answer a JSON array whose items each carry their `cursor`; the next page is asked for with
`after=` (user lists, by user id) or `before=` (posts and the timeline, newest first).
"""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject
from flask import g, jsonify

from application.social import graph, posts, profiles, timeline
from application.social.cursors import (
    decode_post_cursor,
    decode_timeline_cursor,
    decode_user_cursor,
    user_cursor,
)
from application.social.deps import SocialDeps
from application.social.profiles import ProfileUpdate
from application.social.timeline import entry_to_public, post_to_public
from domain.shared import parse_id
from domain.social.model import Counts, Profile
from entrypoints.http.common import authenticate_request, write_reply
from entrypoints.http.social.schemas import (
    Blueprint,
    PostBody,
    PostsPageQuery,
    ProfileBody,
    UsersPageQuery,
    json_object_body,
)

bp = Blueprint("social", __name__, url_prefix="/social", description="Follows, posts, likes and timelines")
bp.before_request(authenticate_request)
bp.before_request(json_object_body)
DEPS = Provide["social.deps"]
USER = "/users/<user_id>"
POST = USER + "/posts/<post_id>"


def _id(raw: str, name: str) -> int:
    return parse_id(raw, name)


def render_profile(profile: Profile) -> dict:
    return {"user_id": str(profile.user_id), "name": profile.name, "about": profile.about,
            "image_url": profile.image_url}


def render_counts(user_id: int, counts: Counts) -> dict:
    return {"user_id": str(user_id), "followers": counts.followers, "following": counts.following,
            "posts": counts.posts}


def render_users(user_ids: list[int]) -> list[dict]:
    return [{"user_id": str(uid), "cursor": user_cursor(uid)} for uid in user_ids]


def _after(query: dict) -> int | None:
    return decode_user_cursor(query["after"], "after") if "after" in query else None


# --- profiles -----------------------------------------------------------------------------


@bp.put("/profile")
@bp.arguments(ProfileBody)
@inject
def put_profile(body: dict, deps: SocialDeps = DEPS):
    update = ProfileUpdate(body["name"], body["about"], body["image_url"])
    return write_reply("updated", render_profile(profiles.set_profile(deps, g.actor, update)))


@bp.get(USER)
@inject
def get_profile(user_id: str, deps: SocialDeps = DEPS):
    return jsonify(render_profile(profiles.get_profile(deps, _id(user_id, "user_id"))))


@bp.get(USER + "/counts")
@inject
def get_counts(user_id: str, deps: SocialDeps = DEPS):
    uid = _id(user_id, "user_id")
    return jsonify(render_counts(uid, profiles.get_counts(deps, uid)))


# --- follows ------------------------------------------------------------------------------


@bp.get(USER + "/followers")
@bp.arguments(UsersPageQuery, location="query")
@inject
def list_followers(query: dict, user_id: str, deps: SocialDeps = DEPS):
    ids = graph.followers(deps, _id(user_id, "user_id"), _after(query), query["limit"])
    return jsonify(render_users(ids))


@bp.get(USER + "/following")
@bp.arguments(UsersPageQuery, location="query")
@inject
def list_following(query: dict, user_id: str, deps: SocialDeps = DEPS):
    ids = graph.following(deps, _id(user_id, "user_id"), _after(query), query["limit"])
    return jsonify(render_users(ids))


@bp.put(USER + "/follow")
@inject
def follow(user_id: str, deps: SocialDeps = DEPS):
    result = graph.follow(deps, g.actor, _id(user_id, "user_id"))
    return write_reply("updated", {"user_id": user_id, "following": True, "changed": result.changed})


@bp.delete(USER + "/follow")
@inject
def unfollow(user_id: str, deps: SocialDeps = DEPS):
    result = graph.unfollow(deps, g.actor, _id(user_id, "user_id"))
    return write_reply("deleted", {"user_id": user_id, "following": False, "changed": result.changed})


# --- posts and likes ----------------------------------------------------------------------


@bp.post("/posts")
@bp.arguments(PostBody)
@inject
def publish_post(body: dict, deps: SocialDeps = DEPS):
    post = posts.publish_post(deps, g.actor, body["content"], body["image_url"])
    return write_reply("created", post_to_public(post), status=201)


@bp.delete("/posts/<post_id>")
@inject
def delete_post(post_id: str, deps: SocialDeps = DEPS):
    post = posts.delete_post(deps, g.actor, _id(post_id, "post_id"))
    return write_reply("deleted", {"post_id": str(post.post_id)})


@bp.get(USER + "/posts")
@bp.arguments(PostsPageQuery, location="query")
@inject
def list_posts(query: dict, user_id: str, deps: SocialDeps = DEPS):
    before = decode_post_cursor(query["before"]) if "before" in query else None
    found = posts.posts_of(deps, _id(user_id, "user_id"), before, query["limit"])
    return jsonify([post_to_public(p) for p in found])


@bp.get(POST)
@inject
def get_post(user_id: str, post_id: str, deps: SocialDeps = DEPS):
    return jsonify(post_to_public(posts.get_post(deps, _id(user_id, "user_id"), _id(post_id, "post_id"))))


@bp.put(POST + "/like")
@inject
def like(user_id: str, post_id: str, deps: SocialDeps = DEPS):
    result = posts.like(deps, g.actor, _id(user_id, "user_id"), _id(post_id, "post_id"))
    return write_reply("updated", {"post_id": post_id, "liked": True, "changed": result.changed})


@bp.delete(POST + "/like")
@inject
def unlike(user_id: str, post_id: str, deps: SocialDeps = DEPS):
    _id(user_id, "user_id")
    result = posts.unlike(deps, g.actor, _id(post_id, "post_id"))
    return write_reply("deleted", {"post_id": post_id, "liked": False, "changed": result.changed})


@bp.get("/posts/<post_id>/likes")
@bp.arguments(UsersPageQuery, location="query")
@inject
def list_likers(query: dict, post_id: str, deps: SocialDeps = DEPS):
    return jsonify(render_users(posts.likers(deps, _id(post_id, "post_id"), _after(query), query["limit"])))


@bp.get("/posts/<post_id>/like-count")
@inject
def like_count(post_id: str, deps: SocialDeps = DEPS):
    pid = _id(post_id, "post_id")
    return jsonify({"post_id": str(pid), "count": posts.like_count(deps, pid)})


# --- the timeline -------------------------------------------------------------------------


@bp.get("/timeline")
@bp.arguments(PostsPageQuery, location="query")
@inject
def read_timeline(query: dict, deps: SocialDeps = DEPS):
    before = decode_timeline_cursor(query["before"]) if "before" in query else None
    entries = timeline.read_timeline(deps, g.actor, before, query["limit"])
    return jsonify([entry_to_public(e) for e in entries])
