"""The /social operations of the OpenAPI document (entrypoints/http/openapi.py merges them)."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.social.model import MAX_POST_CHARS
from entrypoints.http import schemas
from entrypoints.http.openapi import BODY, READ, WRITE, Op, Out, write_envelope
from entrypoints.http.social.schemas import PostBody, PostsPageQuery, ProfileBody, UsersPageQuery


class SocialProfile(Out):
    user_id = schemas.Id(required=True)
    name = fields.String(required=True)
    about = fields.String(required=True)
    image_url = fields.String(required=True, allow_none=True)


class SocialCounts(Out):
    user_id = schemas.Id(required=True)
    followers = fields.Integer(required=True, validate=validate.Range(min=0))
    following = fields.Integer(required=True, validate=validate.Range(min=0))
    posts = fields.Integer(required=True, validate=validate.Range(min=0))


class SocialUser(Out):
    user_id = schemas.Id(required=True)
    cursor = fields.String(required=True, metadata={"description": "pass as `after` for the next page"})


class SocialPost(Out):
    post_id = schemas.Id(required=True)
    author_id = schemas.Id(required=True)
    content = fields.String(required=True, validate=validate.Length(min=1, max=MAX_POST_CHARS))
    image_url = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    cursor = fields.String(required=True, metadata={"description": "pass as `before` for the next page"})


class SocialTimelineEntry(SocialPost):
    expires_at = fields.DateTime(required=True, metadata={"description": "the entry leaves the timeline then"})


class SocialLikeCount(Out):
    post_id = schemas.Id(required=True)
    count = fields.Integer(required=True, validate=validate.Range(min=0))


class SocialFollowState(Out):
    user_id = schemas.Id(required=True)
    following = fields.Boolean(required=True)
    changed = fields.Boolean(required=True, metadata={"description": "false when it already was so"})


class SocialLikeState(Out):
    post_id = schemas.Id(required=True)
    liked = fields.Boolean(required=True)
    changed = fields.Boolean(required=True, metadata={"description": "false when it already was so"})


class SocialPostRef(Out):
    post_id = schemas.Id(required=True)


SocialProfileReply = write_envelope("SocialProfileReply", SocialProfile, ("updated",))
SocialFollowReply = write_envelope("SocialFollowReply", SocialFollowState, ("updated", "deleted"))
SocialPostCreated = write_envelope("SocialPostCreated", SocialPost, ("created",))
SocialPostDeleted = write_envelope("SocialPostDeleted", SocialPostRef, ("deleted",))
SocialLikeReply = write_envelope("SocialLikeReply", SocialLikeState, ("updated", "deleted"))


def _read(summary: str, ok, **kwargs) -> Op:
    return Op(summary, ok, tag="social", **kwargs)


def _write(summary: str, ok, errors=WRITE, **kwargs) -> Op:
    return Op(summary, ok, errors=errors, tag="social", **kwargs)


SOCIAL_OPERATIONS: dict[str, Op] = {
    "social.put_profile": _write(
        "Set the acting user's profile", SocialProfileReply, errors=WRITE + BODY, body=ProfileBody,
        example={"name": "Ada", "about": "maths", "image_url": "https://example.org/ada.png"},
    ),
    "social.get_profile": _read("A user's profile", SocialProfile, errors=READ + (404,)),
    "social.get_counts": _read("A user's follower, following and post counts", SocialCounts),
    "social.list_followers": _read("A user's followers, by user id", SocialUser, query=UsersPageQuery, many=True),
    "social.list_following": _read("The users a user follows, by user id", SocialUser, query=UsersPageQuery, many=True),
    "social.follow": _write("Follow the user (idempotent; no backfill of older posts)", SocialFollowReply,
                            errors=WRITE + (422,)),
    "social.unfollow": _write("Stop following the user (idempotent)", SocialFollowReply, errors=WRITE + (422,)),
    "social.publish_post": _write(
        "Post; followers' timelines get it shortly after (fan-out off the request)", SocialPostCreated,
        status=201, errors=WRITE + BODY, body=PostBody,
        example={"content": "Solved the third exercise!", "image_url": "https://example.org/proof.png"},
    ),
    "social.delete_post": _write("Delete one's own post", SocialPostDeleted, errors=WRITE + (404,)),
    "social.list_posts": _read("A user's posts, newest first", SocialPost, query=PostsPageQuery, many=True),
    "social.get_post": _read("One post", SocialPost, errors=READ + (404,)),
    "social.like": _write("Like the post (idempotent)", SocialLikeReply, errors=WRITE + (404,)),
    "social.unlike": _write("Unlike the post (idempotent)", SocialLikeReply),
    "social.list_likers": _read("Who liked the post, by user id", SocialUser, query=UsersPageQuery, many=True),
    "social.like_count": _read("The post's like count", SocialLikeCount),
    "social.read_timeline": _read(
        "The acting user's timeline: posts of the users they follow, newest first, unexpired",
        SocialTimelineEntry, query=PostsPageQuery, many=True,
    ),
}
