"""Timelines by fan-out on write: message-bus handlers copy a new post into each follower's timeline.

The post's own write is committed first (publish_post); the handlers then walk the author's followers
in bounded steps (`TimelineBatchDue`), each step queuing the next behind other work, so posting costs
the author one write whatever their follower count. Every entry expires `timeline_ttl` after the post
was made; reads skip expired entries before the store deletes them (DynamoDB's TTL runs late).

What the design gives up, on purpose: a new follow does not backfill older posts (the timeline fills
from the next post on), and an unfollow stops new entries but leaves the ones already copied until
they expire. A step that fails is logged by the bus; entries already written stay (writes are
idempotent, so replaying a step is harmless).
"""

from __future__ import annotations

from typing import Any

from application.delivery.topics import user_topic
from application.shared import Actor, Publication
from application.social.cursors import post_cursor, timeline_cursor
from application.social.deps import SocialDeps, acting_user
from domain.shared import rfc3339
from domain.social.events import PostDeleted, PostPublished, TimelineBatchDue
from domain.social.model import Post, TimelineEntry

TIMELINE_TOPIC = "social.timeline"


def read_timeline(
    deps: SocialDeps, actor: Actor, before: tuple[int, int] | None, limit: int
) -> list[TimelineEntry]:
    """The acting user's own timeline, newest post first."""
    return deps.graph.timeline(acting_user(actor), before, limit, deps.now())


def start_fan_out(deps: SocialDeps, event: PostPublished) -> None:
    deps.publish_events([TimelineBatchDue(event.post)])


def start_removal(deps: SocialDeps, event: PostDeleted) -> None:
    deps.publish_events([TimelineBatchDue(event.post, remove=True)])
    _forget_likes(deps, event.post.post_id)


def fan_out_step(deps: SocialDeps, step: TimelineBatchDue) -> None:
    """One page of followers: write (or remove) their entries, push them live, queue the next page."""
    post = step.post
    followers = deps.graph.followers(post.author_id, step.after, deps.fanout_batch)
    if step.remove:
        deps.graph.remove_from_timelines(followers, post)
    elif followers:
        expires_at = post.created_at + deps.timeline_ttl
        deps.graph.add_to_timelines(followers, post, expires_at)
        _push(deps, [TimelineEntry(owner, post, expires_at) for owner in followers])
    if len(followers) == deps.fanout_batch:
        deps.publish_events([TimelineBatchDue(post, followers[-1], step.remove)])


def _forget_likes(deps: SocialDeps, post_id: int) -> None:
    while likers := deps.graph.likers(post_id, None, deps.fanout_batch):
        deps.graph.forget_likes(post_id, likers)


def _push(deps: SocialDeps, entries: list[TimelineEntry]) -> None:
    """Live: each follower's own channel hears of the new entry (their open websockets, if any)."""
    if deps.notifier is None:
        return
    deps.notifier.publish([timeline_publication(entry) for entry in entries])


def timeline_publication(entry: TimelineEntry) -> Publication:
    payload = {"topic": TIMELINE_TOPIC, "timeline_entry": entry_to_public(entry)}
    return Publication(user_topic(entry.owner_id).name, payload)


def handlers(deps: SocialDeps) -> dict[type, list]:
    """This context's table for the message bus (merged with the others' in the container)."""
    return {
        PostPublished: [lambda event: start_fan_out(deps, event)],
        PostDeleted: [lambda event: start_removal(deps, event)],
        TimelineBatchDue: [lambda step: fan_out_step(deps, step)],
    }


# --- public shapes (HTTP and websocket) -------------------------------------------------------


def post_to_public(post: Post) -> dict[str, Any]:
    return {
        "post_id": str(post.post_id),
        "author_id": str(post.author_id),
        "content": post.content,
        "image_url": post.image_url,
        "created_at": rfc3339(post.created_at),
        "cursor": post_cursor(post.post_id),
    }


def entry_to_public(entry: TimelineEntry) -> dict[str, Any]:
    return {
        **post_to_public(entry.post),
        "expires_at": rfc3339(entry.expires_at),
        "cursor": timeline_cursor(entry.post.post_id, entry.post.author_id),
    }
