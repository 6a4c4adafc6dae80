"""Thread tokens: a signed statement of what one user may do on one thread, valid two hours.

Reading a thread hands one to a user allowed to read it (as AlgoREA's GET thread does), so a
websocket or another service can trust the decision without asking the permissions tables again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from application.shared import Actor, ThreadClaims
from domain.forum.model import Thread
from domain.forum.policy import Grants, can_write, is_watcher

THREAD_TOKEN_LIFETIME = timedelta(hours=2)


class ThreadTokenIssuer(Protocol):
    def issue(self, claims: ThreadClaims) -> str | None:
        """A signed token carrying `claims`, or None when no signing key is configured."""
        ...


class NoThreadTokens:
    """The issuer when no signing key is configured: threads are rendered with `token: null`."""

    def issue(self, claims: ThreadClaims) -> str | None:
        return None


def thread_claims_for(actor: Actor, thread: Thread, grants: Grants, now: datetime) -> ThreadClaims:
    """AlgoREA's claims: can_watch is 'watches answers and the participant', can_write the write rule now.

    A caller who came in with a thread token gets one that expires no later than theirs: otherwise
    re-reading the thread would renew a credential forever (or outlive AlgoREA's).
    """
    assert actor.user_id is not None
    expires_at = now + THREAD_TOKEN_LIFETIME
    if actor.thread_claims is not None:
        expires_at = min(expires_at, actor.thread_claims.expires_at)
    return ThreadClaims(
        item_id=thread.key.item_id,
        participant_id=thread.key.participant_id,
        user_id=actor.user_id,
        is_mine=grants.is_participant,
        can_watch=is_watcher(grants),
        can_write=can_write(grants, thread),
        expires_at=expires_at,
    )
