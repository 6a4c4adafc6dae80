"""The /social endpoints: thin views that parse, call a use case and render (DESIGN.md §4.1).

Lists answer a JSON array whose items each carry their `cursor`; the next page is asked for with
`after=` (user lists, by user id) or `before=` (posts and the timeline, newest first).
"""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject
from flask import g

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
from domain.social.model import Counts, Profile
from entrypoints.http.blueprint import Blueprint
from entrypoints.http.common import created, deleted, updated
from entrypoints.http.social import schemas

bp = Blueprint("social", __name__, url_prefix="/social", description="Follows, posts, likes and timelines")
USER = "/users/<id64:user_id>"
POST = USER + "/posts/<id64:post_id>"


@inject
def social_deps(social: SocialDeps = Provide["social.deps"]) -> SocialDeps:
    """The social context's dependencies: the views' only injection."""
    return social


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
@bp.arguments(schemas.ProfileBody, example={"name": "Ada", "about": "maths", "image_url": "https://example.org/ada.png"})
@bp.response(200, schemas.SocialProfileReply)
def put_profile(body: dict):
    """Set the acting user's profile"""
    update = ProfileUpdate(body["name"], body["about"], body["image_url"])
    return updated(render_profile(profiles.set_profile(social_deps(), g.actor, update)))


@bp.get(USER)
@bp.response(200, schemas.SocialProfile)
@bp.errors(404)
def get_profile(user_id: int):
    """A user's profile"""
    return render_profile(profiles.get_profile(social_deps(), user_id))


@bp.get(USER + "/counts")
@bp.response(200, schemas.SocialCounts)
def get_counts(user_id: int):
    """A user's follower, following and post counts"""
    return render_counts(user_id, profiles.get_counts(social_deps(), user_id))


# --- follows ------------------------------------------------------------------------------


@bp.get(USER + "/followers")
@bp.arguments(schemas.UsersPageQuery, location="query")
@bp.response(200, schemas.SocialUser(many=True))
def list_followers(query: dict, user_id: int):
    """A user's followers, by user id"""
    return render_users(graph.followers(social_deps(), user_id, _after(query), query["limit"]))


@bp.get(USER + "/following")
@bp.arguments(schemas.UsersPageQuery, location="query")
@bp.response(200, schemas.SocialUser(many=True))
def list_following(query: dict, user_id: int):
    """The users a user follows, by user id"""
    return render_users(graph.following(social_deps(), user_id, _after(query), query["limit"]))


@bp.put(USER + "/follow")
@bp.response(200, schemas.SocialFollowReply)
@bp.errors(422)
def follow(user_id: int):
    """Follow the user (idempotent; no backfill of older posts)"""
    result = graph.follow(social_deps(), g.actor, user_id)
    return updated({"user_id": str(user_id), "following": True, "changed": result.changed})


@bp.delete(USER + "/follow")
@bp.response(200, schemas.SocialFollowReply)
@bp.errors(422)
def unfollow(user_id: int):
    """Stop following the user (idempotent)"""
    result = graph.unfollow(social_deps(), g.actor, user_id)
    return deleted({"user_id": str(user_id), "following": False, "changed": result.changed})


# --- posts and likes ----------------------------------------------------------------------


@bp.post("/posts")
@bp.arguments(
    schemas.PostBody,
    example={"content": "Solved the third exercise!", "image_url": "https://example.org/proof.png"},
)
@bp.response(201, schemas.SocialPostCreated)
def publish_post(body: dict):
    """Post; followers' timelines get it shortly after (fan-out off the request)"""
    return created(post_to_public(posts.publish_post(social_deps(), g.actor, body["content"], body["image_url"])))


@bp.delete("/posts/<id64:post_id>")
@bp.response(200, schemas.SocialPostDeleted)
@bp.errors(404)
def delete_post(post_id: int):
    """Delete one's own post"""
    post = posts.delete_post(social_deps(), g.actor, post_id)
    return deleted({"post_id": str(post.post_id)})


@bp.get(USER + "/posts")
@bp.arguments(schemas.PostsPageQuery, location="query")
@bp.response(200, schemas.SocialPost(many=True))
def list_posts(query: dict, user_id: int):
    """A user's posts, newest first"""
    before = decode_post_cursor(query["before"]) if "before" in query else None
    return [post_to_public(p) for p in posts.posts_of(social_deps(), user_id, before, query["limit"])]


@bp.get(POST)
@bp.response(200, schemas.SocialPost)
@bp.errors(404)
def get_post(user_id: int, post_id: int):
    """One post"""
    return post_to_public(posts.get_post(social_deps(), user_id, post_id))


@bp.put(POST + "/like")
@bp.response(200, schemas.SocialLikeReply)
@bp.errors(404)
def like(user_id: int, post_id: int):
    """Like the post (idempotent)"""
    result = posts.like(social_deps(), g.actor, user_id, post_id)
    return updated({"post_id": str(post_id), "liked": True, "changed": result.changed})


@bp.delete(POST + "/like")
@bp.response(200, schemas.SocialLikeReply)
def unlike(user_id: int, post_id: int):
    """Unlike the post (idempotent)"""
    result = posts.unlike(social_deps(), g.actor, post_id)
    return deleted({"post_id": str(post_id), "liked": False, "changed": result.changed})


@bp.get("/posts/<id64:post_id>/likes")
@bp.arguments(schemas.UsersPageQuery, location="query")
@bp.response(200, schemas.SocialUser(many=True))
def list_likers(query: dict, post_id: int):
    """Who liked the post, by user id"""
    return render_users(posts.likers(social_deps(), post_id, _after(query), query["limit"]))


@bp.get("/posts/<id64:post_id>/like-count")
@bp.response(200, schemas.SocialLikeCount)
def like_count(post_id: int):
    """The post's like count"""
    return {"post_id": str(post_id), "count": posts.like_count(social_deps(), post_id)}


# --- the timeline -------------------------------------------------------------------------


@bp.get("/timeline")
@bp.arguments(schemas.PostsPageQuery, location="query")
@bp.response(200, schemas.SocialTimelineEntry(many=True))
def read_timeline(query: dict):
    """The acting user's timeline: posts of the users they follow, newest first, unexpired"""
    before = decode_timeline_cursor(query["before"]) if "before" in query else None
    return [entry_to_public(e) for e in timeline.read_timeline(social_deps(), g.actor, before, query["limit"])]
