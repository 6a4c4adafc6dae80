"""The one place that picks adapters from configuration (DESIGN.md §3).

Profiles: `memory` (tests), `embedded` (SQLite file), `postgres`, `algorea`, `aws`. Everything
else asks this container for its collaborators, and tests override providers here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dependency_injector import containers, providers

from adapters.auth.algorea import AlgoreaThreadTokenAuthenticator, ThreadTokenAuthenticator, TokenOnlyPermissions
from adapters.auth.dev import DevHeaderAuthenticator
from adapters.auth.jwt import (
    DevTokenMinter,
    JwtAuthenticator,
    JwtSettings,
    JwtThreadTokenIssuer,
    thread_token_issuer_from_settings,
)
from adapters.dynamodb.client import DynamoDbSettings
from adapters.dynamodb.dm import DynamoDbDmTable, DynamoDbDmUnitOfWork
from adapters.dynamodb.forum import DynamoDbForum, DynamoDbForumUnitOfWork, DynamoDbSubscriptionStore
from adapters.dynamodb.health import DynamoDbHealthCheck
from adapters.dynamodb.live import DynamoDbNotificationStore
from adapters.dynamodb.outbox import AlgoreaForumUnitOfWork
from adapters.memory.dm import MemoryDmState, MemoryDmUnitOfWork
from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.health import AlwaysReady
from adapters.memory.live import MemoryNotificationStore, MemorySubscriptionStore
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import GrantTables, MemoryPermissions, OpenPermissions
from adapters.notify.apigateway import ApiGatewayNotifier, management_client
from adapters.notify.redis import RedisNotifier, RedisRelay
from adapters.notify.redis_health import RedisHealthCheck
from adapters.sql.dm import SqlDmUnitOfWork
from adapters.sql.engine import create_postgres_engine
from adapters.sql.forum import SqlForumUnitOfWork
from adapters.sql.health import SqlHealthCheck
from adapters.sql.live import SqlNotificationStore, SqlSubscriptionStore
from adapters.sql.migrate import open_embedded_database
from adapters.sql.permissions import SqlPermissions
from application.dm.ports import DmDeps
from application.forum.deps import ForumDeps
from application.forum.thread_token import NoThreadTokens
from application.shared import SystemClock

PROFILES = ("memory", "embedded", "postgres", "algorea", "aws")

DEFAULTS: dict[str, str] = {
    "profile": "embedded",
    "fanout": "inprocess",
    "redis_url": "redis://127.0.0.1:6379/0",
    "redis_channel_prefix": "parley:",
    "grants": "open",
    "database_url": "sqlite:///var/parley.sqlite3",
    "write_rate_limit": "120/minute",
    "read_rate_limit": "600/minute",
    "ready_timeout": "2",
    "log_level": "info",
}

# Profiles meant for several processes: counters that must be shared (rate limits) live in Redis.
REDIS_PROFILES = ("postgres", "algorea", "aws")


AUTH_MODES = ("dev", "jwt")
# Profiles that keep real data: the development header (anyone may claim any user) is refused there.
DEV_AUTH_REFUSED = ("postgres", "algorea", "aws")


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every `PARLEY_*` variable, lower-cased without the prefix, over the defaults."""
    environ = os.environ if environ is None else environ
    settings = {}
    for name, value in environ.items():
        if name.startswith("PARLEY_"):
            settings[name.removeprefix("PARLEY_").lower()] = value
    return resolve_settings(settings)


def resolve_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """Defaults filled in and checked; raises ValueError for a configuration that must not start."""
    resolved = {**DEFAULTS, **settings}
    if resolved["profile"] not in PROFILES:
        raise ValueError(f"PARLEY_PROFILE must be one of {', '.join(PROFILES)}, not {resolved['profile']!r}")
    # The memory profile keeps nothing and serves tests, so it may trust the development header
    # unless a JWT key is configured; every profile with real data authenticates with JWTs.
    has_jwt_key = any(resolved.get(k) for k in ("jwt_secret", "jwt_public_key_file", "jwt_jwks_file"))
    resolved.setdefault("auth", "dev" if resolved["profile"] == "memory" and not has_jwt_key else "jwt")
    if resolved["auth"] not in AUTH_MODES:
        raise ValueError(f"PARLEY_AUTH must be one of {', '.join(AUTH_MODES)}, not {resolved['auth']!r}")
    if resolved["auth"] == "dev" and resolved["profile"] in DEV_AUTH_REFUSED:
        raise InsecureConfiguration(
            f"PARLEY_AUTH=dev trusts a header anyone can send and is refused with PARLEY_PROFILE="
            f"{resolved['profile']}: use PARLEY_AUTH=jwt with PARLEY_JWT_PUBLIC_KEY_FILE or PARLEY_JWT_JWKS_FILE"
        )
    return resolved


class InsecureConfiguration(ValueError):
    """A setting that would let anyone in where real data lives; the app refuses to start."""


def _authenticator(settings: Mapping[str, str], clock, configured, issuer):
    """The configured authenticator, behind thread-token verifiers.

    Parley's own thread tokens (when it signs them) are credentials for their thread, so the
    websocket accepts what GET thread handed out; with PARLEY_GRANTS=algorea_tokens, AlgoREA's
    thread tokens come first. Other tokens (users, services) reach the configured authenticator.
    """
    algorea = settings.get("grants") == "algorea_tokens"
    has_jwt = any(settings.get(k) for k in ("jwt_secret", "jwt_public_key_file", "jwt_jwks_file"))
    # In AlgoREA mode a JWT configuration is optional: without one, only thread tokens get in.
    authenticator = configured() if not algorea or settings.get("auth") == "dev" or has_jwt else None
    if isinstance(issuer, JwtThreadTokenIssuer):
        # Checked against the grants port again on every use, except where tokens are the only grants.
        authenticator = ThreadTokenAuthenticator(
            issuer.verification_key, issuer.algorithm, clock, authenticator, claims_decide=algorea
        )
    if algorea:
        return AlgoreaThreadTokenAuthenticator.from_settings(settings, clock, authenticator)
    return authenticator


def _thread_token_issuer(settings: Mapping[str, str], clock):
    return thread_token_issuer_from_settings(settings, clock) or NoThreadTokens()


def rate_limit_storage_uri(settings: Mapping[str, str]) -> str:
    """Where Flask-Limiter counts writes: PARLEY_RATE_LIMIT_STORAGE_URL, else Redis in the server profiles."""
    if settings.get("rate_limit_storage_url"):
        return settings["rate_limit_storage_url"]
    return settings["redis_url"] if settings.get("profile") in REDIS_PROFILES else "memory://"


def _memory_health(settings: Mapping[str, str]):
    return AlwaysReady("memory") if settings.get("profile") == "memory" else None


def _redis_health(settings: Mapping[str, str]):
    uses_redis = settings.get("fanout") == "redis" or rate_limit_storage_uri(settings).startswith(("redis", "rediss"))
    return RedisHealthCheck(settings.get("redis_url") or DEFAULTS["redis_url"]) if uses_redis else None


# Profiles whose threads (and grant tables, with PARLEY_GRANTS=tables) live in SQL.
SQL_PROFILES = ("embedded", "postgres", "algorea")


def _sql_health(settings: Mapping[str, str], engine):
    return SqlHealthCheck(engine()) if settings.get("profile") in SQL_PROFILES else None


# Profiles that keep data in DynamoDB (algorea: events, beside the status in PostgreSQL).
DYNAMODB_PROFILES = ("algorea", "aws")


def _dynamodb_health(settings: Mapping[str, str], forum):
    return DynamoDbHealthCheck(forum()) if settings.get("profile") in DYNAMODB_PROFILES else None


def _token_minter(settings: Mapping[str, str], clock) -> DevTokenMinter:
    return DevTokenMinter(JwtSettings.from_settings(settings), clock)


def _apigateway_notifier(container: Container) -> ApiGatewayNotifier:
    """API Gateway holds the sockets; the shared subscription store says which connections to post to."""
    settings = container.config()
    region = DynamoDbSettings.from_settings(settings).region
    client = management_client(settings["apigateway_endpoint_url"], region)
    return ApiGatewayNotifier(client, container.subscription_store(), container.clock().now)


class DmContainer(containers.DeclarativeContainer):
    """Direct messages (issue 14): the users directory and conversations in SQL in the SQL
    profiles, in the Cruddur-shaped DynamoDB table in `aws`, in memory in `memory`."""

    config = providers.Configuration()
    notifier = providers.Dependency()
    clock = providers.Dependency()
    sql_engine = providers.Dependency()

    state = providers.Singleton(MemoryDmState)
    table = providers.Singleton(DynamoDbDmTable.from_settings, config)
    uow = providers.Selector(
        config.profile,
        memory=providers.Factory(MemoryDmUnitOfWork, state=state, notifier=notifier),
        embedded=providers.Factory(SqlDmUnitOfWork, engine=sql_engine, notifier=notifier),
        postgres=providers.Factory(SqlDmUnitOfWork, engine=sql_engine, notifier=notifier),
        algorea=providers.Factory(SqlDmUnitOfWork, engine=sql_engine, notifier=notifier),
        aws=providers.Factory(DynamoDbDmUnitOfWork, table=table, notifier=notifier),
    )
    read_uow = providers.Selector(
        config.profile,
        memory=uow,
        embedded=providers.Factory(SqlDmUnitOfWork, engine=sql_engine, notifier=notifier, read_only=True),
        postgres=providers.Factory(SqlDmUnitOfWork, engine=sql_engine, notifier=notifier, read_only=True),
        algorea=providers.Factory(SqlDmUnitOfWork, engine=sql_engine, notifier=notifier, read_only=True),
        aws=uow,
    )
    deps = providers.Singleton(DmDeps, uow=uow.provider, read_uow=read_uow.provider, clock=clock, notifier=notifier)


class Container(containers.DeclarativeContainer):
    __self__ = providers.Self()
    wiring_config = containers.WiringConfiguration(packages=["entrypoints.http", "entrypoints.ws"], auto_wire=False)

    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)
    # `hub` fans events out to this process's websockets; `notifier` is where use cases publish
    # after commit: straight to the hub, or through Redis so every process's hub receives them.
    hub = providers.Singleton(InProcessNotifier)
    notifier = providers.Selector(
        config.fanout,
        inprocess=hub,
        redis=providers.Singleton(RedisNotifier, config.redis_url, config.redis_channel_prefix),
        apigateway=providers.Singleton(_apigateway_notifier, __self__),
    )
    redis_relay = providers.Singleton(RedisRelay, config.redis_url, hub, config.redis_channel_prefix)

    # One engine (and pool) per process. The embedded profile creates and migrates its SQLite file
    # when the engine is first built (create_app does it at start); PostgreSQL is migrated by
    # `parley db upgrade`, a deployment step.
    sql_engine = providers.Selector(
        config.profile,
        embedded=providers.Singleton(open_embedded_database, config.database_url),
        postgres=providers.Singleton(create_postgres_engine, config.database_url),
        algorea=providers.Singleton(create_postgres_engine, config.database_url),
    )

    grant_tables = providers.Singleton(GrantTables)
    permissions = providers.Selector(
        config.grants,
        open=providers.Singleton(OpenPermissions, grant_tables),
        # Parley's grant tables where the profile keeps them: SQL in the SQL profiles, memory in `memory`
        # (filled by tests). PARLEY_GRANTS=sql asks for the SQL tables explicitly.
        tables=providers.Selector(
            config.profile,
            memory=providers.Singleton(MemoryPermissions, grant_tables),
            embedded=providers.Singleton(SqlPermissions, sql_engine),
            postgres=providers.Singleton(SqlPermissions, sql_engine),
            algorea=providers.Singleton(SqlPermissions, sql_engine),
        ),
        sql=providers.Singleton(SqlPermissions, sql_engine),
        algorea_tokens=providers.Singleton(TokenOnlyPermissions),
    )
    thread_tokens = providers.Singleton(_thread_token_issuer, config, clock)

    forum_state = providers.Singleton(MemoryForumState)
    # One boto3 client per process (PARLEY_DYNAMODB_ENDPOINT_URL, _REGION, _TABLE_PREFIX).
    dynamodb_forum = providers.Singleton(DynamoDbForum.from_settings, config)
    forum_uow = providers.Selector(
        config.profile,
        memory=providers.Factory(MemoryForumUnitOfWork, state=forum_state, notifier=notifier),
        embedded=providers.Factory(SqlForumUnitOfWork, engine=sql_engine, notifier=notifier),
        postgres=providers.Factory(SqlForumUnitOfWork, engine=sql_engine, notifier=notifier),
        # Status in PostgreSQL, events in DynamoDB through a transactional outbox (DESIGN.md §3.3).
        algorea=providers.Factory(
            AlgoreaForumUnitOfWork, engine=sql_engine, forum=dynamodb_forum, notifier=notifier
        ),
        aws=providers.Factory(DynamoDbForumUnitOfWork, forum=dynamodb_forum, notifier=notifier),
    )
    # Units of work of the use cases that only read: on SQL they take no write lock, so readers of
    # a thread do not queue behind each other and its writers (docs/performance.md).
    forum_read_uow = providers.Selector(
        config.profile,
        memory=forum_uow,
        embedded=providers.Factory(SqlForumUnitOfWork, engine=sql_engine, notifier=notifier, read_only=True),
        postgres=providers.Factory(SqlForumUnitOfWork, engine=sql_engine, notifier=notifier, read_only=True),
        algorea=forum_uow,
        aws=forum_uow,
    )
    # Who watches which thread live, and followers' notifications: shared by every process of a
    # profile (a memory store would answer GET /forum/notifications from whichever process it hits).
    subscription_store = providers.Selector(
        config.profile,
        memory=providers.Singleton(MemorySubscriptionStore),
        embedded=providers.Singleton(SqlSubscriptionStore, sql_engine),
        postgres=providers.Singleton(SqlSubscriptionStore, sql_engine),
        # DESIGN.md §3: the algorea profile keeps events and subscriptions in DynamoDB.
        algorea=providers.Singleton(DynamoDbSubscriptionStore, dynamodb_forum),
        aws=providers.Singleton(DynamoDbSubscriptionStore, dynamodb_forum),
    )
    notification_store = providers.Selector(
        config.profile,
        memory=providers.Singleton(MemoryNotificationStore),
        embedded=providers.Singleton(SqlNotificationStore, sql_engine),
        postgres=providers.Singleton(SqlNotificationStore, sql_engine),
        algorea=providers.Singleton(SqlNotificationStore, sql_engine),
        aws=providers.Singleton(DynamoDbNotificationStore.from_settings, config, dynamodb_forum),
    )

    forum = providers.Singleton(
        ForumDeps,
        uow=forum_uow.provider,
        read_uow=forum_read_uow.provider,
        permissions=permissions,
        clock=clock,
        thread_tokens=thread_tokens,
        subscriptions=subscription_store,
        notifications=notification_store,
        notifier=notifier,
    )

    dm = providers.Container(DmContainer, config=config, notifier=notifier, clock=clock, sql_engine=sql_engine)

    configured_authenticator = providers.Selector(
        config.auth,
        dev=providers.Singleton(DevHeaderAuthenticator),
        jwt=providers.Singleton(JwtAuthenticator.from_settings, config, clock),
    )
    authenticator = providers.Singleton(
        _authenticator, config, clock, configured_authenticator.provider, thread_tokens
    )
    token_minter = providers.Singleton(_token_minter, config, clock)

    # What /readyz probes. Each item gives an application.shared.HealthCheck, or None when its
    # backend is not configured in this profile. An adapter adds its own probe with
    # `Container.health_checks.add_args(providers.Singleton(make_check, config, ...))`.
    health_checks = providers.List(
        providers.Singleton(_memory_health, config),
        providers.Singleton(_redis_health, config),
        providers.Singleton(_sql_health, config, sql_engine.provider),
        providers.Singleton(_dynamodb_health, config, dynamodb_forum.provider),
    )
