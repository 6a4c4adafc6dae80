"""Posts and likes."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared import Actor
from application.social.deps import SocialDeps, acting_user
from application.social.ports import PostIdTaken
from domain.shared import NotFound
from domain.social.events import PostDeleted, PostPublished
from domain.social.model import Post, clean_image_url, clean_post_content, new_post_id

ID_ATTEMPTS = 3


@dataclass(frozen=True)
class LikeResult:
    liked: bool
    changed: bool


def publish_post(deps: SocialDeps, actor: Actor, content: str, image_url: str | None = None) -> Post:
    """Stores the post and its counter; the fan-out to followers' timelines runs after, off the request."""
    author_id = acting_user(actor)
    content, image_url = clean_post_content(content), clean_image_url(image_url)
    post = _store_new_post(deps, author_id, content, image_url)
    deps.publish_events([PostPublished(post)])
    return post


def _store_new_post(deps: SocialDeps, author_id: int, content: str, image_url: str | None) -> Post:
    for attempt in range(ID_ATTEMPTS):
        now = deps.now()
        post = Post(new_post_id(now), author_id, content, image_url, now)
        try:
            deps.graph.add_post(post)
            return post
        except PostIdTaken:
            if attempt == ID_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def delete_post(deps: SocialDeps, actor: Actor, post_id: int) -> Post:
    """Only one's own posts: the post is looked up under the acting user, so another's is a 404."""
    post = deps.graph.delete_post(acting_user(actor), post_id)
    if post is None:
        raise NotFound("no such post", {"post_id": ["is not one of your posts"]})
    deps.publish_events([PostDeleted(post)])
    return post


def get_post(deps: SocialDeps, author_id: int, post_id: int) -> Post:
    post = deps.graph.get_post(author_id, post_id)
    if post is None:
        raise NotFound("no such post", {"post_id": ["no such post by this author"]})
    return post


def posts_of(deps: SocialDeps, author_id: int, before: int | None, limit: int) -> list[Post]:
    return deps.graph.posts(author_id, before, limit)


def like(deps: SocialDeps, actor: Actor, author_id: int, post_id: int) -> LikeResult:
    changed = deps.graph.like(author_id, post_id, acting_user(actor))
    if changed is None:
        raise NotFound("no such post", {"post_id": ["no such post by this author"]})
    return LikeResult(True, changed)


def unlike(deps: SocialDeps, actor: Actor, post_id: int) -> LikeResult:
    return LikeResult(False, deps.graph.unlike(post_id, acting_user(actor)))


def likers(deps: SocialDeps, post_id: int, after: int | None, limit: int) -> list[int]:
    return deps.graph.likers(post_id, after, limit)


def like_count(deps: SocialDeps, post_id: int) -> int:
    return deps.graph.like_count(post_id)
