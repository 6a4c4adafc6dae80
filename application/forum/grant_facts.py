"""Turn raw permission facts (AlgoREA's simplified schema) into `Grants`.

Adapters fetch the facts (memory dicts, SQL tables); this one function decides what they mean,
so every adapter of the permissions port agrees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from application.forum.ports import ReadableThreads
from application.shared import ThreadClaims
from domain.forum.model import RECENTLY_CLOSED, ThreadKey
from domain.forum.policy import NO_GRANTS, Grants, ViewLevel, WatchLevel


@dataclass(frozen=True)
class ItemPermission:
    group_id: int
    item_id: int
    can_view: ViewLevel = ViewLevel.NONE
    can_watch: WatchLevel = WatchLevel.NONE
    can_request_help_to: tuple[int, ...] = ()


@dataclass(frozen=True)
class GrantFacts:
    """What the permissions tables say about one user, one thread and its groups."""

    user_ancestors: frozenset[int]
    participant_ancestors: frozenset[int]
    user_item_permissions: tuple[ItemPermission, ...]
    participant_item_permissions: tuple[ItemPermission, ...]
    managed_groups: frozenset[int] = field(default_factory=frozenset)
    user_validated: bool = False
    requested_helper_ancestors: frozenset[int] = field(default_factory=frozenset)


def decide_grants(
    facts: GrantFacts, user_id: int, key: ThreadKey, helper_group_id: int | None, requested_helper: int | None
) -> Grants:
    view = max((p.can_view for p in facts.user_item_permissions), default=ViewLevel.NONE)
    watch = max((p.can_watch for p in facts.user_item_permissions), default=WatchLevel.NONE)
    help_targets = {g for p in facts.participant_item_permissions for g in p.can_request_help_to}
    return Grants(
        can_view=view,
        can_watch=watch,
        can_watch_members=bool(facts.managed_groups & facts.participant_ancestors),
        is_participant=key.participant_id in facts.user_ancestors,
        is_helper_group_member=helper_group_id is not None and helper_group_id in facts.user_ancestors,
        validated=facts.user_validated,
        can_request_help_to=requested_helper is not None
        and bool(help_targets & (facts.requested_helper_ancestors | {requested_helper})),
    )


def readable_threads(
    user_ancestors: frozenset[int],
    user_permissions: Iterable[ItemPermission],
    validated_items: Iterable[int],
    now: datetime,
    view_floor: ViewLevel = ViewLevel.NONE,
) -> ReadableThreads:
    """The threads a user may possibly read, from the permissions of all their groups on all items.

    Mirrors `can_read` as `decide_grants` feeds it: the view and watch levels of an item are the
    highest over the user's groups; `view_floor` is what an adapter grants everyone (OpenPermissions).
    """
    levels: dict[int, tuple[ViewLevel, WatchLevel]] = defaultdict(lambda: (view_floor, WatchLevel.NONE))
    for p in user_permissions:
        if p.group_id in user_ancestors:
            view, watch = levels[p.item_id]
            levels[p.item_id] = (max(view, p.can_view), max(watch, p.can_watch))
    viewable = {item: watch for item, (view, watch) in levels.items() if view >= ViewLevel.CONTENT}
    validated = set(validated_items)
    return ReadableThreads(
        participant_ids=user_ancestors,
        item_ids=frozenset(item for item, watch in viewable.items() if watch >= WatchLevel.ANSWER),
        helped_item_ids=frozenset(
            item for item, watch in viewable.items() if watch == WatchLevel.RESULT and item in validated
        ),
        helper_group_ids=user_ancestors,
        helped_since=now - RECENTLY_CLOSED,
    )


def closure(start: int, edges: Mapping[int, Iterable[int]]) -> frozenset[int]:
    """`start` and everything reachable from it along `edges` (child -> parents, or the reverse)."""
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def grants_from_thread_claims(claims: ThreadClaims, key: ThreadKey) -> Grants:
    """The grants a verified issuer's thread token vouches for: its issuer already decided, so we only restate it.

    Any valid token for the thread lets its holder read it (watch level answer reads in every state);
    `can_write` decides writing; `is_mine` makes the holder the participant (every status change);
    `can_watch` makes them a watcher (opening, moderating). The claims say nothing about the groups
    the participant may ask for help: that fact is left to the permissions port. A token for another
    thread grants nothing there.
    """
    if not claims.covers(key.item_id, key.participant_id):
        return NO_GRANTS
    return Grants(
        can_view=ViewLevel.CONTENT,
        can_watch=WatchLevel.ANSWER,
        can_watch_members=claims.can_watch,
        is_participant=claims.is_mine,
        write_decided=claims.can_write,
    )
