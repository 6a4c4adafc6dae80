"""Every `PARLEY_*` setting and the values it accepts, checked before a server listens (issue 19).

`parley serve`, gunicorn's configuration (in the master, before it binds) and wsgi.py call
`exit_on_bad_settings`: a bad value stops the start with one line naming the setting, the value
and what is accepted, and an exit code of 2, instead of a traceback, or a server that starts and
then answers 500. What the container would only find at the first request (an adapter the profile
lacks, a key file that is missing) is checked here too.

This module imports no part of the application (no container, no metrics): gunicorn's master runs
it before it forks workers, which must import prometheus_client themselves. A new setting is added
to SETTINGS; tests/unit/test_settings.py fails for a `PARLEY_*` name the code reads and SETTINGS
lacks, and for accepted words that differ from the container's.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PREFIX = "PARLEY_"
# The container's choices (container.py; a unit test keeps them equal).
PROFILES = ("memory", "embedded", "postgres", "algorea", "aws")
GRANTS = ("open", "tables", "sql", "algorea_tokens")
FANOUTS = ("inprocess", "redis", "apigateway")
AUTH_MODES = ("dev", "jwt")
RUNNERS = ("inline", "background")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SWITCHES = ("on", "off", "1", "0", "true", "false", "yes", "no")
SQL_PROFILES = ("embedded", "postgres", "algorea")
POSTGRES_PROFILES = ("postgres", "algorea")
SERVER_PROFILES = ("postgres", "algorea", "aws")
SECRETS = frozenset({"jwt_secret", "metrics_token", "algorea_events_token"})


class SettingError(ValueError):
    """A setting that must not start a server; its message is the one line to print."""


@dataclass(frozen=True)
class Setting:
    name: str
    accepted: str  # what the message says is accepted
    valid: Callable[[str], bool]
    empty_means_unset: bool = True  # the code reads it as `settings.get(name) or default`


def _choice(*words: str, fold: bool = False) -> Callable[[str], bool]:
    return lambda value: (value.lower() if fold else value) in words


def _integer(low: int, high: int) -> Callable[[str], bool]:
    return lambda value: value.strip().isascii() and value.strip().isdigit() and low <= int(value) <= high


def _number(low: float, high: float) -> Callable[[str], bool]:
    def valid(value: str) -> bool:
        try:
            number = float(value)
        except ValueError:
            return False
        return low <= number <= high

    return valid


def _url(*schemes: str) -> Callable[[str], bool]:
    def valid(value: str) -> bool:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 (raises for a port that is not a number)
        except ValueError:
            return False
        # memory:// (the rate limits' in-process storage) names no place; every other URL must.
        return parts.scheme in schemes and (bool(parts.netloc or parts.path) or parts.scheme == "memory")

    return valid


def _database_url(value: str) -> bool:
    scheme = value.partition("://")[0]
    if scheme.split("+")[0] == "sqlite":
        return value.startswith(("sqlite:///", "sqlite+pysqlite:///"))
    return scheme.split("+")[0] in ("postgresql", "postgres") and _url(scheme)(value)


def _readable_file(value: str) -> bool:
    return os.path.isfile(value) and os.access(value, os.R_OK)


def _rate_limit(value: str) -> bool:
    if value.strip().lower() in ("off", "none", "0"):
        return True
    from limits import parse_many

    try:
        return bool(parse_many(value))
    except ValueError:
        return False


def _address(value: str) -> bool:
    if value.startswith("unix:"):
        return len(value) > len("unix:")
    host, _, port = value.rpartition(":")
    return bool(host) and _integer(1, 65535)(port)


def _pattern(regex: str) -> Callable[[str], bool]:
    return lambda value: re.fullmatch(regex, value) is not None


def _anything(value: str) -> bool:
    return True


def _secret(value: str) -> bool:
    return len(value.encode()) >= 32


_FILE = "a readable file"
_TABLE = "3 to 255 of A-Z a-z 0-9 _ . -"

SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("profile", ", ".join(PROFILES), _choice(*PROFILES), empty_means_unset=False),
    Setting("auth", ", ".join(AUTH_MODES), _choice(*AUTH_MODES), empty_means_unset=False),
    Setting("grants", ", ".join(GRANTS), _choice(*GRANTS), empty_means_unset=False),
    Setting("fanout", ", ".join(FANOUTS), _choice(*FANOUTS), empty_means_unset=False),
    Setting("messagebus", ", ".join(RUNNERS), _choice(*RUNNERS)),
    Setting("social_fanout", ", ".join(RUNNERS), _choice(*RUNNERS)),
    Setting("log_level", ", ".join(LOG_LEVELS), _choice(*LOG_LEVELS, fold=True)),
    Setting("access_log", ", ".join(SWITCHES), _choice(*SWITCHES, fold=True)),
    Setting("database_url", "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB", _database_url,
            empty_means_unset=False),
    Setting("redis_url", "redis://HOST:PORT/DB or rediss://…", _url("redis", "rediss", "unix"),
            empty_means_unset=False),
    Setting("redis_channel_prefix", "any text", _anything, empty_means_unset=False),
    Setting("rate_limit_storage_url", "memory:// or redis://HOST:PORT/DB",
            _url("memory", "redis", "rediss", "redis+unix")),
    Setting("write_rate_limit", "a limit such as 120/minute (several joined by ;) or off", _rate_limit),
    Setting("read_rate_limit", "a limit such as 600/minute (several joined by ;) or off", _rate_limit),
    Setting("ready_timeout", "seconds from 0.1 to 60", _number(0.1, 60), empty_means_unset=False),
    Setting("metrics_token", "any text", _anything),
    Setting("jwt_secret", "at least 32 bytes", _secret),
    Setting("jwt_algorithm", "RS256, RS512, ES256, HS256", _choice("RS256", "RS512", "ES256", "HS256", fold=False)),
    Setting("jwt_leeway", "whole seconds from 0 to 300", _integer(0, 300)),
    Setting("jwt_issuer", "any text", _anything),
    Setting("jwt_audience", "any text", _anything),
    Setting("jwt_public_key_file", _FILE, _readable_file),
    Setting("jwt_jwks_file", _FILE, _readable_file),
    Setting("jwt_private_key_file", _FILE, _readable_file),
    Setting("thread_token_private_key_file", _FILE, _readable_file),
    Setting("algorea_public_key_file", _FILE, _readable_file),
    Setting("session_token_private_key_file", _FILE, _readable_file),
    Setting("session_idle_seconds", "seconds from 60 to 2592000 (30 days)", _number(60, 30 * 86400)),
    Setting("session_max_seconds", "seconds from 60 to 31536000 (365 days)", _number(60, 365 * 86400)),
    Setting("session_token_seconds", "whole seconds from 10 to 86400", _integer(10, 86400)),
    Setting("session_cache_seconds", "seconds from 0 to 30", _number(0, 30)),
    Setting("social_timeline_days", "days, more than 0 and at most 3650",
            lambda v: _number(0, 3650)(v) and float(v) > 0),
    Setting("social_fanout_batch", "a whole number from 1 to 100000", _integer(1, 100_000)),
    Setting("dynamodb_endpoint_url", "http(s)://HOST:PORT (unset: AWS itself)", _url("http", "https")),
    Setting("dynamodb_region", "an AWS region such as eu-west-3", _pattern(r"[a-z]{2}(-[a-z]+)+-\d+")),
    Setting("dynamodb_table_prefix", "up to 200 of A-Z a-z 0-9 _ . -", _pattern(r"[A-Za-z0-9_.-]{0,200}"),
            empty_means_unset=False),
    Setting("dynamodb_dm_table", _TABLE, _pattern(r"[A-Za-z0-9_.-]{3,255}")),
    Setting("dynamodb_sessions_table", _TABLE, _pattern(r"[A-Za-z0-9_.-]{3,255}")),
    Setting("apigateway_endpoint_url", "https://ID.execute-api.REGION.amazonaws.com/STAGE", _url("http", "https")),
    # Where the servers listen (parley serve, gunicorn.conf.py) and scripts/dynamodb-local's port.
    Setting("bind", "HOST:PORT (the port from 1 to 65535) or unix:PATH", _address),
    Setting("host", "a host name or address", _pattern(r"[A-Za-z0-9.:\[\]-]+")),
    Setting("port", "a TCP port from 1 to 65535", _integer(1, 65535)),
    Setting("workers", "a whole number from 1 to 256", _integer(1, 256)),
    Setting("worker_connections", "a whole number from 1 to 1000000", _integer(1, 1_000_000)),
    Setting("dynamodb_port", "a TCP port from 0 (a free one) to 65535", _integer(0, 65535)),
    Setting("test_workers", "0 (one process) or a number of pytest workers up to 64 (scripts/test only)",
            _integer(0, 64)),
    Setting("algorea_backend_prefix", "empty (the root) or a path such as /algorea",
            _pattern(r"(/[A-Za-z0-9._~-]+)*/?"), empty_means_unset=False),
    Setting("algorea_events_token", "at least 32 printable ASCII characters", _pattern(r"[!-~]{32,}")),
    Setting("algorea_sls_prefix", "a path such as /sls", _pattern(r"(/[A-Za-z0-9._~-]+)+")),
    Setting("algorea_ws_path", "a path such as /sls/ws", _pattern(r"(/[A-Za-z0-9._~-]+)+")),
]}


def parley_settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {name[len(PREFIX):].lower(): value for name, value in environ.items() if name.startswith(PREFIX)}


def _shown(name: str, value: str) -> str:
    return f"(hidden, {len(value.encode())} bytes)" if name in SECRETS else repr(value)


def check_values(settings: Mapping[str, str]) -> list[str]:
    """The settings each checked alone: a message per bad or misspelt one; unknown names are
    returned apart by `unknown_names`."""
    problems = []
    for name, value in settings.items():
        setting = SETTINGS.get(name)
        if setting is None:
            close = difflib.get_close_matches(name, SETTINGS, n=1, cutoff=0.8)
            if close:
                problems.append(f"{PREFIX}{name.upper()} is not a setting: did you mean {PREFIX}{close[0].upper()}?")
            continue
        if value == "" and setting.empty_means_unset:
            continue
        if not setting.valid(value):
            problems.append(
                f"{PREFIX}{name.upper()}={_shown(name, value)} is not accepted: {setting.accepted}"
            )
    return problems


def unknown_names(settings: Mapping[str, str]) -> list[str]:
    return [f"{PREFIX}{n.upper()}" for n in settings if n not in SETTINGS
            and not difflib.get_close_matches(n, SETTINGS, n=1, cutoff=0.8)]


def check_combinations(settings: Mapping[str, str]) -> list[str]:
    """Values that are fine alone but not together (the container would fail at a request)."""
    profile = settings.get("profile") or "embedded"
    grants = settings.get("grants") or "open"
    problems = []
    if grants in ("tables", "sql") and profile == "aws":
        problems.append(f"PARLEY_GRANTS={grants} is not accepted with PARLEY_PROFILE=aws (no grant tables "
                        "in DynamoDB): open or algorea_tokens")
    if grants == "sql" and profile == "memory":
        problems.append("PARLEY_GRANTS=sql is not accepted with PARLEY_PROFILE=memory: open, tables or algorea_tokens")
    if grants == "algorea_tokens" and not settings.get("algorea_public_key_file"):
        problems.append("PARLEY_GRANTS=algorea_tokens needs PARLEY_ALGOREA_PUBLIC_KEY_FILE (AlgoREA's public key)")
    if settings.get("fanout") == "apigateway" and not settings.get("apigateway_endpoint_url"):
        problems.append("PARLEY_FANOUT=apigateway needs PARLEY_APIGATEWAY_ENDPOINT_URL")
    url = settings.get("database_url") or "sqlite:///var/parley.sqlite3"
    is_sqlite = url.startswith("sqlite")
    if profile in POSTGRES_PROFILES and is_sqlite:
        problems.append(f"PARLEY_DATABASE_URL={url!r} is not accepted with PARLEY_PROFILE={profile}: "
                        "postgresql+psycopg://USER@HOST/DB")
    if profile == "embedded" and not is_sqlite:
        problems.append(f"PARLEY_DATABASE_URL={url!r} is not accepted with PARLEY_PROFILE=embedded: "
                        "sqlite:///PATH (for PostgreSQL use PARLEY_PROFILE=postgres)")
    if settings.get("auth") == "dev" and profile in SERVER_PROFILES:
        problems.append(f"PARLEY_AUTH=dev is not accepted with PARLEY_PROFILE={profile} (anyone could claim "
                        "any user): jwt, with PARLEY_JWT_PUBLIC_KEY_FILE or PARLEY_JWT_JWKS_FILE")
    return problems


def check_keys(settings: Mapping[str, str]) -> list[str]:
    """What the app builds from the key settings at start (keys parsed, algorithms matched), done
    here so that gunicorn's master reports it in one line before any worker starts."""
    from adapters.auth.algorea import AlgoreaThreadTokenAuthenticator
    from adapters.auth.jwt import JwtSettings, thread_token_issuer_from_settings
    from adapters.auth.sessions import session_token_key_from_settings, token_seconds
    from container import AlgoreaBackendSettings
    from entrypoints.http.sls.settings import ServerlessSettings

    resolved = {k: v for k, v in settings.items() if v != ""}
    profile = resolved.get("profile") or "embedded"
    has_jwt = any(resolved.get(k) for k in ("jwt_secret", "jwt_public_key_file", "jwt_jwks_file"))
    auth = resolved.get("auth") or ("dev" if profile == "memory" and not has_jwt else "jwt")
    checks: list[Callable[[], object]] = [
        lambda: thread_token_issuer_from_settings(resolved, None),
        lambda: session_token_key_from_settings(resolved),
        lambda: token_seconds(resolved),
    ]
    if auth == "jwt" and (resolved.get("grants") != "algorea_tokens" or has_jwt):
        checks.append(lambda: JwtSettings.from_settings(resolved))
    if resolved.get("grants") == "algorea_tokens" and resolved.get("algorea_public_key_file"):
        checks.append(lambda: AlgoreaThreadTokenAuthenticator.from_settings(resolved, None))
    # Where the AlgoREA surfaces are mounted, and that they do not cover Parley's own paths.
    checks.append(lambda: AlgoreaBackendSettings.from_settings(settings))
    checks.append(lambda: ServerlessSettings.from_settings(resolved))
    problems = []
    for check in checks:
        try:
            check()
        except ValueError as err:
            problem = str(err).splitlines()[0] if str(err) else type(err).__name__
            if problem not in problems:  # one key file read by several parts
                problems.append(problem)
    return problems


def settings_problems(environ: Mapping[str, str], server: bool = True, keys: bool | None = None) -> list[str]:
    """Each setting's value; for a server (server=True) also how they combine and, unless keys is
    False, the keys. A command (`parley db upgrade` with a PostgreSQL URL, whatever the profile)
    has its values checked only."""
    settings = parley_settings(environ)
    problems = check_values(settings)
    if not problems and server:
        problems = check_combinations(settings)
    if not problems and server and keys is not False:
        problems = check_keys(settings)
    return problems


def exit_on_bad_settings(environ: Mapping[str, str] | None = None, program: str = "parley",
                         server: bool = True, exit_code: int = 2, keys: bool | None = None) -> None:
    """Print the first problem as one line and exit; warn (one line) about names that are no setting."""
    environ = os.environ if environ is None else environ
    problems = settings_problems(environ, server, keys)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"{program}: {problems[0]}{more}", file=sys.stderr)
        raise SystemExit(exit_code)
    unknown = unknown_names(parley_settings(environ))
    if unknown:
        print(f"{program}: ignoring {', '.join(unknown)}: not Parley settings", file=sys.stderr)
