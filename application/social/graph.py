"""Follow and unfollow, and the two lists they keep."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared import Actor
from application.social.deps import SocialDeps, acting_user
from domain.social.model import check_follow


@dataclass(frozen=True)
class FollowResult:
    following: bool
    changed: bool


def follow(deps: SocialDeps, actor: Actor, followed_id: int) -> FollowResult:
    """Idempotent. No backfill: the new follower's timeline gets the posts published from now on."""
    follower_id = acting_user(actor)
    check_follow(follower_id, followed_id)
    return FollowResult(True, deps.graph.follow(follower_id, followed_id))


def unfollow(deps: SocialDeps, actor: Actor, followed_id: int) -> FollowResult:
    """Idempotent. Entries already in the timeline stay until they expire; new posts stop coming."""
    follower_id = acting_user(actor)
    check_follow(follower_id, followed_id)
    return FollowResult(False, deps.graph.unfollow(follower_id, followed_id))


def followers(deps: SocialDeps, user_id: int, after: int | None, limit: int) -> list[int]:
    return deps.graph.followers(user_id, after, limit)


def following(deps: SocialDeps, user_id: int, after: int | None, limit: int) -> list[int]:
    return deps.graph.following(user_id, after, limit)
