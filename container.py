"""The one place that picks adapters from configuration (DESIGN.md §3).

Profiles: `memory` (tests), `embedded` (SQLite file), `postgres`, `algorea`, `aws`. Everything
else asks this container for its collaborators, and tests override providers here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dependency_injector import containers, providers

from adapters.auth.dev import DevHeaderAuthenticator
from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import GrantTables, MemoryPermissions, OpenPermissions
from application.forum.deps import ForumDeps
from application.shared import SystemClock

PROFILES = ("memory", "embedded", "postgres", "algorea", "aws")

DEFAULTS: dict[str, str] = {
    "profile": "memory",
    "auth": "dev",
    "grants": "open",
    "database_url": "sqlite:///var/parley.sqlite3",
}


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every `PARLEY_*` variable, lower-cased without the prefix, over the defaults."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for name, value in environ.items():
        if name.startswith("PARLEY_"):
            settings[name.removeprefix("PARLEY_").lower()] = value
    if settings["profile"] not in PROFILES:
        raise ValueError(f"PARLEY_PROFILE must be one of {', '.join(PROFILES)}, not {settings['profile']!r}")
    return settings


class Container(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(packages=["entrypoints.http"], auto_wire=False)

    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)
    notifier = providers.Singleton(InProcessNotifier)

    grant_tables = providers.Singleton(GrantTables)
    permissions = providers.Selector(
        config.grants,
        open=providers.Singleton(OpenPermissions, grant_tables),
        tables=providers.Singleton(MemoryPermissions, grant_tables),
    )

    forum_state = providers.Singleton(MemoryForumState)
    forum_uow = providers.Selector(
        config.profile,
        memory=providers.Factory(MemoryForumUnitOfWork, state=forum_state, notifier=notifier),
    )
    forum = providers.Singleton(ForumDeps, uow=forum_uow.provider, permissions=permissions, clock=clock)

    authenticator = providers.Selector(
        config.auth,
        dev=providers.Singleton(DevHeaderAuthenticator),
    )
