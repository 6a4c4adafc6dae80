"""The social context's request and response schemas: what its views read with `@bp.arguments`
and what their `@bp.response` documents (the views render the JSON themselves)."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.social.model import MAX_ABOUT_CHARS, MAX_IMAGE_URL_CHARS, MAX_NAME_CHARS, MAX_POST_CHARS
from entrypoints.http.schemas import Id, Out, QueryInt, StrictSchema, write_envelope

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Text bounds are the domain's (422, like a blank post); the 64 KiB body cap (413) bounds the rest.

# --- requests --------------------------------------------------------------------------------


class ProfileBody(StrictSchema):
    name = fields.String(required=True, metadata={"description": f"1..{MAX_NAME_CHARS} characters"})
    about = fields.String(load_default="", metadata={"description": f"up to {MAX_ABOUT_CHARS} characters"})
    image_url = fields.String(
        allow_none=True, load_default=None,
        metadata={"description": f"an absolute http(s) URL, up to {MAX_IMAGE_URL_CHARS} characters"},
    )


class PostBody(StrictSchema):
    content = fields.String(required=True, metadata={"description": f"1..{MAX_POST_CHARS} characters after trimming"})
    image_url = fields.String(allow_none=True, load_default=None,
                              metadata={"description": "an absolute http(s) URL"})


class UsersPageQuery(StrictSchema):
    after = fields.String(metadata={"description": "the `cursor` of the last user of the previous page"})
    limit = QueryInt(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class PostsPageQuery(StrictSchema):
    before = fields.String(metadata={"description": "the `cursor` of the last post of the previous page"})
    limit = QueryInt(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


# --- responses -------------------------------------------------------------------------------


class SocialProfile(Out):
    user_id = Id(required=True)
    name = fields.String(required=True)
    about = fields.String(required=True)
    image_url = fields.String(required=True, allow_none=True)


class SocialCounts(Out):
    user_id = Id(required=True)
    followers = fields.Integer(required=True, validate=validate.Range(min=0))
    following = fields.Integer(required=True, validate=validate.Range(min=0))
    posts = fields.Integer(required=True, validate=validate.Range(min=0))


class SocialUser(Out):
    user_id = Id(required=True)
    cursor = fields.String(required=True, metadata={"description": "pass as `after` for the next page"})


class SocialPost(Out):
    post_id = Id(required=True)
    author_id = Id(required=True)
    content = fields.String(required=True, validate=validate.Length(min=1, max=MAX_POST_CHARS))
    image_url = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    cursor = fields.String(required=True, metadata={"description": "pass as `before` for the next page"})


class SocialTimelineEntry(SocialPost):
    expires_at = fields.DateTime(required=True, metadata={"description": "the entry leaves the timeline then"})


class SocialLikeCount(Out):
    post_id = Id(required=True)
    count = fields.Integer(required=True, validate=validate.Range(min=0))


class SocialFollowState(Out):
    user_id = Id(required=True)
    following = fields.Boolean(required=True)
    changed = fields.Boolean(required=True, metadata={"description": "false when it already was so"})


class SocialLikeState(Out):
    post_id = Id(required=True)
    liked = fields.Boolean(required=True)
    changed = fields.Boolean(required=True, metadata={"description": "false when it already was so"})


class SocialPostRef(Out):
    post_id = Id(required=True)


SocialProfileReply = write_envelope("SocialProfileReply", SocialProfile, ("updated",))
SocialFollowReply = write_envelope("SocialFollowReply", SocialFollowState, ("updated", "deleted"))
SocialPostCreated = write_envelope("SocialPostCreated", SocialPost, ("created",))
SocialPostDeleted = write_envelope("SocialPostDeleted", SocialPostRef, ("deleted",))
SocialLikeReply = write_envelope("SocialLikeReply", SocialLikeState, ("updated", "deleted"))
