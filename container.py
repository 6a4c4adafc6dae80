"""The one place that picks adapters from configuration (DESIGN.md §3; docs/architecture.md).

Profiles: `memory` (tests), `embedded` (SQLite file), `postgres`, `algorea`, `aws`. Three parts:

- `CoreContainer`: what every context shares (configuration, clock, the SQL engine, the DynamoDB
  client, the notifier and hub, live-delivery stores, authentication, health probes);
- one sub-container per context (`ForumContainer`, ...), which gets the core as a
  `providers.DependenciesContainer` and declares each of its ports once per storage backend with
  `by_profile`;
- `Container`, the application: the configuration, `core` and each context as `providers.Container`.

Entrypoints inject `Provide["forum.deps"]`, `Provide["core.authenticator"]`; tests override a
provider where it lives: `container.core.clock.override(...)`, `container.forum.grant_tables.override(...)`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
from adapters.auth.sessions import (
    JwtSessionTokenIssuer,
    SessionTokenAuthenticator,
    session_token_key_from_settings,
    token_seconds,
)
from adapters.dynamodb.algorea import DynamoDbDirectory
from adapters.dynamodb.base import DynamoDbTable
from adapters.dynamodb.chat import DynamoDbChat, DynamoDbChatUnitOfWork
from adapters.dynamodb.client import DynamoDbSettings, make_client
from adapters.dynamodb.delivery import DynamoDbNotificationStore
from adapters.dynamodb.dm import DynamoDbDmTable, DynamoDbDmUnitOfWork
from adapters.dynamodb.forum import DynamoDbForum, DynamoDbForumUnitOfWork, DynamoDbSubscriptionStore
from adapters.dynamodb.health import DynamoDbHealthCheck
from adapters.dynamodb.outbox import AlgoreaForumUnitOfWork
from adapters.dynamodb.sessions import DynamoDbSessionStore, sessions_table_name
from adapters.dynamodb.social import DynamoDbSocialGraph
from adapters.dynamodb.tables import notifications_table_name
from adapters.memory.algorea import MemoryDirectory
from adapters.memory.chat import MemoryChatState, MemoryChatUnitOfWork
from adapters.memory.delivery import MemoryNotificationStore, MemorySubscriptionStore
from adapters.memory.dm import MemoryDmState, MemoryDmUnitOfWork
from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.health import AlwaysReady
from adapters.memory.live_questions import MemoryLiveState, MemoryLiveUnitOfWork, TimerScheduler
from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import GrantTables, MemoryPermissions, OpenPermissions
from adapters.memory.sessions import MemorySessionStore
from adapters.memory.social import MemorySocialGraph
from adapters.notify.apigateway import ApiGatewayNotifier, management_client
from adapters.notify.redis import RedisNotifier, RedisRelay
from adapters.notify.redis_health import RedisHealthCheck
from adapters.sql.algorea import SqlDirectory
from adapters.sql.chat import SqlChatUnitOfWork
from adapters.sql.delivery import SqlNotificationStore, SqlSubscriptionStore
from adapters.sql.dm import SqlDmUnitOfWork
from adapters.sql.engine import create_postgres_engine
from adapters.sql.forum import SqlForumUnitOfWork
from adapters.sql.health import SqlHealthCheck
from adapters.sql.live_questions import SqlLiveUnitOfWork
from adapters.sql.migrate import open_embedded_database
from adapters.sql.permissions import SqlPermissions
from adapters.sql.sessions import SqlSessionStore
from adapters.sql.social import SqlSocialGraph
from application.chat.deps import ChatDeps
from application.dm.ports import DmDeps
from application.forum import handlers as forum_handlers
from application.forum.deps import ForumDeps
from application.forum.thread_token import NoThreadTokens
from application.live.deps import LiveDeps
from application.messagebus import BackgroundRunner, InlineRunner, MessageBus, merge_handlers
from application.sessions.guard import SessionGuard
from application.sessions.topics import SESSIONS_ENDED_TOPIC
from application.sessions.use_cases import SessionDeps
from application.shared import SystemClock
from application.social import timeline as social_timeline
from application.social.deps import DEFAULT_FANOUT_BATCH, SocialDeps
from domain.sessions.model import SessionPolicy
from entrypoints.metrics import MESSAGEBUS_HANDLER_FAILURES

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
# Where message-bus handlers run: `background` (a worker, after the response; the default of the
# server profiles) or `inline` (before the response; the memory profile's default, for tests).
MESSAGEBUS_MODES = ("inline", "background")
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
    if resolved.get("messagebus", "inline") not in MESSAGEBUS_MODES:
        modes = ", ".join(MESSAGEBUS_MODES)
        raise ValueError(f"PARLEY_MESSAGEBUS must be one of {modes}, not {resolved['messagebus']!r}")
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


# -- the AlgoREA backend surface (docs/algorea.md) --------------------------------------------------

DEFAULT_ALGOREA_BACKEND_PREFIX = "/algorea"
# Where Parley's own APIs live: the AlgoREA surface may not be mounted over them.
RESERVED_PREFIXES = ("/forum", "/chat", "/dm", "/live", "/sessions", "/social", "/ws", "/sls", "/docs",
                     "/openapi.json", "/healthz", "/readyz", "/metrics", "/demo", "/static", "/app")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
MIN_EVENTS_TOKEN_CHARS = 32


@dataclass(frozen=True)
class AlgoreaBackendSettings:
    """PARLEY_ALGOREA_BACKEND_PREFIX: where the surface is mounted ("" is the root, as AlgoREA's
    own backend has it); PARLEY_ALGOREA_EVENTS_TOKEN: the event sender's shared secret (None: only
    Parley service tokens with the forum:events scope may send events)."""

    prefix: str = DEFAULT_ALGOREA_BACKEND_PREFIX
    events_token: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AlgoreaBackendSettings:
        raw = settings.get("algorea_backend_prefix")
        prefix = DEFAULT_ALGOREA_BACKEND_PREFIX if raw is None else raw.rstrip("/")
        if prefix and not _PREFIX.fullmatch(prefix):
            raise ValueError(f"PARLEY_ALGOREA_BACKEND_PREFIX must be empty or a path like /algorea, not {raw!r}")
        clash = [p for p in RESERVED_PREFIXES if prefix == p or prefix.startswith(p + "/")]
        if clash:
            raise ValueError(f"PARLEY_ALGOREA_BACKEND_PREFIX must not be under {clash[0]}, where Parley's own API is")
        token = settings.get("algorea_events_token") or None
        if token is not None and (len(token) < MIN_EVENTS_TOKEN_CHARS or not token.isascii() or not token.isprintable()
                                  or " " in token):
            raise InsecureConfiguration(
                f"PARLEY_ALGOREA_EVENTS_TOKEN must be at least {MIN_EVENTS_TOKEN_CHARS} printable ASCII characters "
                "without spaces (for example `openssl rand -hex 32`)"
            )
        return cls(prefix, token)


# -- choosing an adapter by storage profile ---------------------------------------------------------

# Which storage backend each profile keeps a port on; `algorea` (PostgreSQL beside DynamoDB) is the
# one profile where each port says which of the two it uses.
PROFILE_BACKENDS = {"memory": "memory", "embedded": "sql", "postgres": "sql", "aws": "dynamodb"}


def by_profile(
    profile: providers.Provider,
    *,
    memory: providers.Provider | None,
    sql: providers.Provider | None,
    dynamodb: providers.Provider | None,
    algorea: providers.Provider | str | None,
) -> providers.Selector:
    """One port's adapter for the configured profile, each backend's adapter declared once.

    `sql` serves `embedded` (SQLite) and `postgres`; `dynamodb` serves `aws`; `algorea` names the
    backend that keeps this port there ("sql", that is PostgreSQL, or "dynamodb") or gives an adapter
    of its own (the forum's outbox unit of work). None: the port has no adapter on that backend, and
    asking for it under such a profile is an error.
    """
    backends = {"memory": memory, "sql": sql, "dynamodb": dynamodb}
    chosen = {name: backends[backend] for name, backend in PROFILE_BACKENDS.items()}
    chosen["algorea"] = backends[algorea] if isinstance(algorea, str) else algorea
    return providers.Selector(profile, **{name: p for name, p in chosen.items() if p is not None})


def dynamodb_table(table_class: type[DynamoDbTable], client: Any, settings: DynamoDbSettings) -> DynamoDbTable:
    """A context's table on the process's one DynamoDB client, named with the configured prefix."""
    return table_class(client, f"{settings.table_prefix}{table_class.NAME}")


# -- the core's helpers -----------------------------------------------------------------------------


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


def _with_session_tokens(authenticator, key, clock, guard):
    """Session-bound tokens first; every other credential goes on to `authenticator`. The guard (and
    its store) is asked for at the first session token."""
    if key is None:
        return authenticator
    return SessionTokenAuthenticator(key, clock, lambda sid: guard().is_live(sid), authenticator)


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


def _dynamodb_health(settings: Mapping[str, str], table):
    return DynamoDbHealthCheck(table()) if settings.get("profile") in DYNAMODB_PROFILES else None


def _token_minter(settings: Mapping[str, str], clock) -> DevTokenMinter:
    return DevTokenMinter(JwtSettings.from_settings(settings), clock)


def _message_bus(settings: Mapping[str, str], container: Container) -> MessageBus:
    """Every context's handlers on one bus. Each context's table reaches its dependencies lazily:
    they hold units of work, which hold this bus."""
    mode = settings.get("messagebus") or ("inline" if settings.get("profile") == "memory" else "background")
    runner = InlineRunner() if mode == "inline" else BackgroundRunner()
    handlers = merge_handlers(forum_handlers.handlers(container.forum.deps))
    return MessageBus(handlers, runner, on_failure=_count_handler_failure)


def _count_handler_failure(handler_name: str, event: object) -> None:
    MESSAGEBUS_HANDLER_FAILURES.labels(handler=handler_name).inc()


def _apigateway_notifier(settings: Mapping[str, str], subscriptions, clock) -> ApiGatewayNotifier:
    """API Gateway holds the sockets; the shared subscription store says which connections to post to."""
    region = DynamoDbSettings.from_settings(settings).region
    client = management_client(settings["apigateway_endpoint_url"], region)
    return ApiGatewayNotifier(client, subscriptions, clock.now)


# -- the core ---------------------------------------------------------------------------------------


class CoreContainer(containers.DeclarativeContainer):
    """What every context shares; contexts reach it as their `core` (a DependenciesContainer)."""

    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)

    # One engine (and pool) per process. The embedded profile creates and migrates its SQLite file
    # when the engine is first built (create_app does it at start); PostgreSQL is migrated by
    # `parley db upgrade`, a deployment step.
    sql_engine = providers.Selector(
        config.profile,
        embedded=providers.Singleton(open_embedded_database, config.database_url),
        postgres=providers.Singleton(create_postgres_engine, config.database_url),
        algorea=providers.Singleton(create_postgres_engine, config.database_url),
    )
    # One boto3 client per process (PARLEY_DYNAMODB_ENDPOINT_URL, _REGION, _TABLE_PREFIX); each
    # context names its tables on it with `dynamodb_table`.
    dynamodb_settings = providers.Singleton(DynamoDbSettings.from_settings, config)
    dynamodb_client = providers.Singleton(make_client, dynamodb_settings)

    # -- live delivery (application/delivery): stores ------------------------------------------------
    # Who watches which topic live, and followers' notifications: shared by every process of a
    # profile (a memory store would answer GET /forum/notifications from whichever process it hits).
    # Subscription rows live in the forum table (THREADSUB#...), on a handle of its own.
    delivery_table = providers.Singleton(dynamodb_table, DynamoDbForum, dynamodb_client, dynamodb_settings)
    subscription_store = by_profile(
        config.profile,
        memory=providers.Singleton(MemorySubscriptionStore),
        # The clock decides which rows a put purges as expired.
        sql=providers.Singleton(SqlSubscriptionStore, sql_engine, now=clock.provided.now),
        dynamodb=providers.Singleton(DynamoDbSubscriptionStore, delivery_table),
        algorea="dynamodb",  # DESIGN.md §3: the algorea profile keeps events and subscriptions in DynamoDB
    )
    notification_store = by_profile(
        config.profile,
        memory=providers.Singleton(MemoryNotificationStore),
        sql=providers.Singleton(SqlNotificationStore, sql_engine),
        dynamodb=providers.Singleton(
            DynamoDbNotificationStore,
            dynamodb_client,
            providers.Callable(notifications_table_name, dynamodb_settings.provided.table_prefix),
        ),
        algorea="sql",
    )
    # -- end of live delivery -------------------------------------------------------------------------

    # `hub` fans events out to this process's websockets; `notifier` is where use cases publish
    # after commit: straight to the hub, or through Redis so every process's hub receives them.
    hub = providers.Singleton(InProcessNotifier)
    notifier = providers.Selector(
        config.fanout,
        inprocess=hub,
        redis=providers.Singleton(RedisNotifier, config.redis_url, config.redis_channel_prefix),
        apigateway=providers.Singleton(_apigateway_notifier, config, subscription_store, clock),
    )
    redis_relay = providers.Singleton(RedisRelay, config.redis_url, hub, config.redis_channel_prefix)

    # Authentication. Thread tokens are credentials too: the authenticator verifies what the
    # issuer signs, so both live here rather than in the forum's sub-container.
    thread_tokens = providers.Singleton(_thread_token_issuer, config, clock)
    configured_authenticator = providers.Selector(
        config.auth,
        dev=providers.Singleton(DevHeaderAuthenticator),
        jwt=providers.Singleton(JwtAuthenticator.from_settings, config, clock),
    )
    # Session-bound tokens (issue 16) are checked first, against the sessions context's validity
    # cache, which the application container provides (the sessions context itself needs the core).
    session_token_key = providers.Singleton(session_token_key_from_settings, config)
    session_guard = providers.Dependency()
    authenticator = providers.Singleton(
        _with_session_tokens,
        providers.Singleton(_authenticator, config, clock, configured_authenticator.provider, thread_tokens),
        session_token_key,
        clock,
        session_guard.provider,
    )
    token_minter = providers.Singleton(_token_minter, config, clock)

    # What /readyz probes. Each item gives an application.shared.HealthCheck, or None when its
    # backend is not configured in this profile. An adapter adds its own probe here, or with
    # `Container.core.health_checks.add_args(providers.Singleton(make_check, Container.config, ...))`.
    health_checks = providers.List(
        providers.Singleton(_memory_health, config),
        providers.Singleton(_redis_health, config),
        providers.Singleton(_sql_health, config, sql_engine.provider),
        providers.Singleton(_dynamodb_health, config, delivery_table.provider),
    )


# -- one sub-container per context ------------------------------------------------------------------


class ForumContainer(containers.DeclarativeContainer):
    """Threads (DESIGN.md §2.1): `deps` is what every forum use case takes."""

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    # The application's message bus: units of work hand it the events they recorded, after commit.
    bus = providers.Dependency(instance_of=MessageBus)

    state = providers.Singleton(MemoryForumState)
    table = providers.Singleton(dynamodb_table, DynamoDbForum, core.dynamodb_client, core.dynamodb_settings)
    uow = by_profile(
        config.profile,
        memory=providers.Factory(MemoryForumUnitOfWork, state=state, notifier=core.notifier, bus=bus),
        sql=providers.Factory(SqlForumUnitOfWork, engine=core.sql_engine, notifier=core.notifier, bus=bus),
        dynamodb=providers.Factory(DynamoDbForumUnitOfWork, forum=table, notifier=core.notifier, bus=bus),
        # Status in PostgreSQL, events in DynamoDB through a transactional outbox (DESIGN.md §3.3).
        algorea=providers.Factory(
            AlgoreaForumUnitOfWork, engine=core.sql_engine, forum=table, notifier=core.notifier, bus=bus
        ),
    )
    # Units of work of the use cases that only read: on SQL they take no write lock, so readers of
    # a thread do not queue behind each other and its writers (docs/performance.md).
    read_uow = by_profile(
        config.profile,
        memory=uow,
        sql=providers.Factory(SqlForumUnitOfWork, engine=core.sql_engine, notifier=core.notifier, read_only=True),
        dynamodb=uow,
        algorea=uow,
    )

    grant_tables = providers.Singleton(GrantTables)
    sql_permissions = providers.Singleton(SqlPermissions, core.sql_engine)
    permissions = providers.Selector(
        config.grants,
        open=providers.Singleton(OpenPermissions, grant_tables),
        # Parley's grant tables where the profile keeps them: SQL in the SQL profiles, memory in `memory`
        # (filled by tests). PARLEY_GRANTS=sql asks for the SQL tables explicitly.
        tables=by_profile(
            config.profile,
            memory=providers.Singleton(MemoryPermissions, grant_tables),
            sql=sql_permissions,
            dynamodb=None,
            algorea="sql",
        ),
        sql=sql_permissions,
        algorea_tokens=providers.Singleton(TokenOnlyPermissions),
    )

    # What AlgoREA's thread list shows of items and users (`parley directory import`).
    directory = by_profile(
        config.profile,
        memory=providers.Singleton(MemoryDirectory),
        sql=providers.Singleton(SqlDirectory, core.sql_engine),
        dynamodb=providers.Singleton(DynamoDbDirectory, table),
        algorea="sql",
    )
    algorea_settings = providers.Singleton(AlgoreaBackendSettings.from_settings, config)

    deps = providers.Singleton(
        ForumDeps,
        uow=uow.provider,
        read_uow=read_uow.provider,
        permissions=permissions,
        clock=core.clock,
        thread_tokens=core.thread_tokens,
        subscriptions=core.subscription_store,
        notifications=core.notification_store,
        notifier=core.notifier,
    )


def _social_deps(settings: Mapping[str, str], graph, clock, notifier, bus: MessageBus) -> SocialDeps:
    """The social use cases' deps; the timeline handlers join the bus that `publish_events` feeds."""
    days = float(settings.get("social_timeline_days") or 14)
    batch = int(settings.get("social_fanout_batch") or DEFAULT_FANOUT_BATCH)
    if days <= 0 or batch < 1:
        raise ValueError("PARLEY_SOCIAL_TIMELINE_DAYS must be > 0 and PARLEY_SOCIAL_FANOUT_BATCH >= 1")
    deps = SocialDeps(graph, clock, bus.handle, notifier, timedelta(days=days), batch)
    bus.handlers = merge_handlers(bus.handlers, social_timeline.handlers(deps))
    return deps


def _social_runner(settings: Mapping[str, str]):
    """Fan-out runs on a background worker; PARLEY_SOCIAL_FANOUT=inline runs it on the request (tests)."""
    return InlineRunner() if settings.get("social_fanout") == "inline" else BackgroundRunner(name="parley-social")


class SocialContainer(containers.DeclarativeContainer):
    """Follows, posts, likes and timelines (issue 17). Its fan-out has a bus of its own, so that a
    post by someone with thousands of followers never queues behind the forum's notifications."""

    config = providers.Configuration()
    core = providers.DependenciesContainer()

    graph = by_profile(
        config.profile,
        memory=providers.Singleton(MemorySocialGraph),
        sql=providers.Singleton(SqlSocialGraph, core.sql_engine),
        dynamodb=providers.Singleton(DynamoDbSocialGraph.from_settings, core.dynamodb_settings, core.dynamodb_client),
        algorea="sql",
    )
    bus = providers.Singleton(MessageBus, runner=providers.Singleton(_social_runner, config))
    deps = providers.Singleton(_social_deps, config, graph, core.clock, core.notifier, bus)


SESSION_DEFAULTS = {"session_idle_seconds": 1800, "session_max_seconds": 43200, "session_cache_seconds": 2}


def _seconds(settings: Mapping[str, str], name: str, low: float, high: float) -> float:
    raw = settings.get(name) or SESSION_DEFAULTS[name]
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"PARLEY_{name.upper()} must be a number of seconds, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"PARLEY_{name.upper()} must be between {low:g} and {high:g} seconds")
    return value


def _session_policy(settings: Mapping[str, str]) -> SessionPolicy:
    idle = _seconds(settings, "session_idle_seconds", 60, 30 * 86400)
    lifetime = _seconds(settings, "session_max_seconds", 60, 365 * 86400)
    return SessionPolicy(idle=timedelta(seconds=idle), max_lifetime=timedelta(seconds=lifetime))


def _session_guard(settings: Mapping[str, str], store, clock, hub) -> SessionGuard:
    """Each process's validity cache; it hears every process's session ends through the hub."""
    staleness = _seconds(settings, "session_cache_seconds", 0, 30)
    guard = SessionGuard(store.get, clock, staleness_seconds=staleness)
    hub.subscribe(SESSIONS_ENDED_TOPIC.name, guard.on_publication)
    return guard


def _dynamodb_sessions(settings: Mapping[str, str], dynamodb: DynamoDbSettings, client) -> DynamoDbSessionStore:
    name = sessions_table_name(dynamodb.table_prefix, settings.get("dynamodb_sessions_table"))
    return DynamoDbSessionStore(client, name)


class SessionsContainer(containers.DeclarativeContainer):
    """Sessions that back access tokens (issue 16): the store, token signing, the validity cache."""

    config = providers.Configuration()
    core = providers.DependenciesContainer()

    store = by_profile(
        config.profile,
        memory=providers.Singleton(MemorySessionStore),
        sql=providers.Singleton(SqlSessionStore, core.sql_engine),
        dynamodb=providers.Singleton(_dynamodb_sessions, config, core.dynamodb_settings, core.dynamodb_client),
        algorea="dynamodb",
    )
    tokens = providers.Singleton(
        JwtSessionTokenIssuer, core.session_token_key, providers.Callable(token_seconds, config), core.clock
    )
    guard = providers.Singleton(_session_guard, config, store, core.clock, core.hub)
    deps = providers.Singleton(
        SessionDeps,
        store=store,
        clock=core.clock,
        tokens=tokens,
        policy=providers.Singleton(_session_policy, config),
        notifier=core.notifier,
        guard=guard,
    )


# -- the application --------------------------------------------------------------------------------


class ChatContainer(containers.DeclarativeContainer):
    """Chat rooms (DESIGN.md §2.2): `deps` is what every chat use case takes. In the algorea
    profile chat lives in PostgreSQL."""

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    bus = providers.Dependency(instance_of=MessageBus)

    state = providers.Singleton(MemoryChatState)
    table = providers.Singleton(dynamodb_table, DynamoDbChat, core.dynamodb_client, core.dynamodb_settings)
    uow = by_profile(
        config.profile,
        memory=providers.Factory(MemoryChatUnitOfWork, state=state, notifier=core.notifier),
        sql=providers.Factory(SqlChatUnitOfWork, engine=core.sql_engine, notifier=core.notifier),
        dynamodb=providers.Factory(DynamoDbChatUnitOfWork, chat=table, notifier=core.notifier),
        algorea="sql",
    )
    read_uow = by_profile(
        config.profile,
        memory=uow,
        sql=providers.Factory(SqlChatUnitOfWork, engine=core.sql_engine, notifier=core.notifier, read_only=True),
        dynamodb=uow,
        algorea="sql",
    )
    deps = providers.Singleton(ChatDeps, uow=uow.provider, read_uow=read_uow.provider, clock=core.clock)


def _dynamodb_live_table(client: Any, settings: DynamoDbSettings):
    from adapters.dynamodb.live_questions import DynamoDbLive

    return dynamodb_table(DynamoDbLive, client, settings)


def _dynamodb_live_uow(table, notifier):
    from adapters.dynamodb.live_questions import DynamoDbLiveUnitOfWork

    return DynamoDbLiveUnitOfWork(table, notifier)


class LiveContainer(containers.DeclarativeContainer):
    """Live questions (issue 15): rooms, the question bank, attempts; `deps` for its use cases."""

    config = providers.Configuration()
    core = providers.DependenciesContainer()

    state = providers.Singleton(MemoryLiveState)
    table = providers.Singleton(_dynamodb_live_table, core.dynamodb_client, core.dynamodb_settings)
    uow = by_profile(
        config.profile,
        memory=providers.Factory(MemoryLiveUnitOfWork, state=state, notifier=core.notifier),
        sql=providers.Factory(SqlLiveUnitOfWork, engine=core.sql_engine, notifier=core.notifier),
        dynamodb=providers.Factory(_dynamodb_live_uow, table, core.notifier),
        algorea="sql",
    )
    read_uow = by_profile(
        config.profile,
        memory=uow,
        sql=providers.Factory(SqlLiveUnitOfWork, engine=core.sql_engine, notifier=core.notifier, read_only=True),
        dynamodb=uow,
        algorea="sql",
    )
    # A question's deadline in this process; after a restart the lazy close and resume_deadlines cover it.
    scheduler = providers.Singleton(TimerScheduler, core.clock)
    deps = providers.Singleton(
        LiveDeps, uow=uow.provider, clock=core.clock, scheduler=scheduler, read_uow=read_uow.provider
    )


def _dm_table(settings: Mapping[str, str], client: Any, dynamodb_settings: DynamoDbSettings) -> DynamoDbDmTable:
    """The dm table on the shared client; PARLEY_DYNAMODB_DM_TABLE names it outright (a Cruddur table)."""
    name = settings.get("dynamodb_dm_table") or f"{dynamodb_settings.table_prefix}{DynamoDbDmTable.NAME}"
    return DynamoDbDmTable(client, name)


class DmContainer(containers.DeclarativeContainer):
    """Direct messages (issue 14): the users directory and conversations in SQL in the SQL
    profiles, in the Cruddur-shaped DynamoDB table in `aws`, in memory in `memory`. A send writes
    the message and both summaries in one transaction, so the context needs no bus handler."""

    config = providers.Configuration()
    core = providers.DependenciesContainer()

    state = providers.Singleton(MemoryDmState)
    table = providers.Singleton(_dm_table, config, core.dynamodb_client, core.dynamodb_settings)
    uow = by_profile(
        config.profile,
        memory=providers.Factory(MemoryDmUnitOfWork, state=state, notifier=core.notifier),
        sql=providers.Factory(SqlDmUnitOfWork, engine=core.sql_engine, notifier=core.notifier),
        dynamodb=providers.Factory(DynamoDbDmUnitOfWork, table=table, notifier=core.notifier),
        algorea="sql",
    )
    # Units of work of the reads: on SQL they take no write lock.
    read_uow = by_profile(
        config.profile,
        memory=uow,
        sql=providers.Factory(SqlDmUnitOfWork, engine=core.sql_engine, notifier=core.notifier, read_only=True),
        dynamodb=uow,
        algorea="sql",
    )
    deps = providers.Singleton(
        DmDeps, uow=uow.provider, read_uow=read_uow.provider, clock=core.clock, notifier=core.notifier
    )


class Container(containers.DeclarativeContainer):
    """The application: the configuration, the core, and each context's sub-container."""

    wiring_config = containers.WiringConfiguration(packages=["entrypoints.http", "entrypoints.ws"], auto_wire=False)

    __self__ = providers.Self()
    config = providers.Configuration()

    # The core's authenticator checks session tokens with the sessions context's cache, asked for
    # lazily (the sessions context needs the core first).
    core = providers.Container(
        CoreContainer, config=config, session_guard=providers.Callable(lambda app: app.sessions.guard(), __self__)
    )
    # Side effects after a commit (follower notifications, …): every context's handler table on one
    # bus, which each context's units of work receive as `bus`.
    message_bus = providers.Singleton(_message_bus, config, __self__)
    forum = providers.Container(ForumContainer, config=config, core=core, bus=message_bus)
    social = providers.Container(SocialContainer, config=config, core=core)
    chat = providers.Container(ChatContainer, config=config, core=core, bus=message_bus)
    live = providers.Container(LiveContainer, config=config, core=core)
    sessions = providers.Container(SessionsContainer, config=config, core=core)
    dm = providers.Container(DmContainer, config=config, core=core)
