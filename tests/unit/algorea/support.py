"""An app on the memory profile taking AlgoREA's RS512 tokens, and the tokens of the serverless tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from dependency_injector import providers

from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from container import Container
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from entrypoints.http.app import create_app
from tests.unit.auth.keys import SECRET, KeyFiles, rsa_key
from tests.unit.fakes import FakeClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ITEM, LEARNER, TRAINER, OTHER = 100, 1, 7, 9  # the learner is the participant (their own group)
KEY = ThreadKey(ITEM, LEARNER)
CLOSED_ITEM = 101
SLS = "/sls/forum/thread/100/1"


def make_app(keys: KeyFiles, clock: FakeClock, **settings):
    """Building an app takes most of a second: tests share one and `reset` it."""
    container = Container()
    container.core.clock.override(providers.Object(clock))
    app = create_app(
        {"profile": "memory", "grants": "algorea_tokens", "algorea_public_key_file": keys.algorea_public,
         "auth": "jwt", "jwt_secret": SECRET, "write_rate_limit": "off", "read_rate_limit": "off", **settings},
        container,
    )
    reset(app, clock)
    return app


def reset(app, clock: FakeClock) -> None:
    """Fresh threads (one open, one closed), no notifications, the clock at NOW."""
    clock.current = NOW
    forum = MemoryForumState()
    with MemoryForumUnitOfWork(forum, InProcessNotifier()) as uow:
        uow.threads.save(Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 50, 0, NOW - timedelta(hours=1)))
        uow.threads.save(Thread(ThreadKey(CLOSED_ITEM, LEARNER), ThreadStatus.CLOSED, 50, 0, NOW - timedelta(days=1)))
        uow.commit()
    app.container.forum.state.override(providers.Object(forum))
    app.container.core.notification_store()._by_user.clear()


def _sign(claims: dict, key, algorithm: str) -> str:
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key or rsa_key("algorea"), algorithm)


def thread_token(user: int = LEARNER, item: int = ITEM, participant: int = LEARNER, key=None, algorithm="RS512",
                 now: datetime = NOW, **overrides) -> str:
    """AlgoREA backend's thread token (RS512, `date` of today)."""
    claims = {
        "item_id": str(item), "participant_id": str(participant), "user_id": str(user),
        "is_mine": user == participant, "can_watch": user == TRAINER, "can_write": True,
        "exp": int((now + timedelta(hours=2)).timestamp()), "date": now.strftime("%d-%m-%Y"),
    }
    return _sign({**claims, **overrides}, key, algorithm)


def identity_token(user: int = LEARNER, key=None, algorithm="RS512", now: datetime = NOW, **overrides) -> str:
    """AlgoREA backend's identity token (POST /auth/identity-token)."""
    claims = {"user_id": str(user), "is_temp_user": False, "exp": int((now + timedelta(hours=2)).timestamp()),
              "date": now.strftime("%d-%m-%Y")}
    return _sign({**claims, **overrides}, key, algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def parley_user_token(user: int) -> str:
    return jwt.encode({"sub": str(user), "exp": int(NOW.timestamp()) + 3600}, SECRET, "HS256")
