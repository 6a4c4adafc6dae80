"""Profiles and counters."""

from __future__ import annotations

from dataclasses import dataclass

from application.shared import Actor
from application.social.deps import SocialDeps, acting_user
from domain.shared import NotFound
from domain.social.model import Counts, Profile, clean_profile


@dataclass(frozen=True)
class ProfileUpdate:
    name: str
    about: str = ""
    image_url: str | None = None


def set_profile(deps: SocialDeps, actor: Actor, update: ProfileUpdate) -> Profile:
    profile = clean_profile(acting_user(actor), update.name, update.about, update.image_url)
    deps.graph.put_profile(profile)
    return profile


def get_profile(deps: SocialDeps, user_id: int) -> Profile:
    profile = deps.graph.get_profile(user_id)
    if profile is None:
        raise NotFound("no such profile", {"user_id": ["has no profile"]})
    return profile


def get_counts(deps: SocialDeps, user_id: int) -> Counts:
    return deps.graph.counts(user_id)
