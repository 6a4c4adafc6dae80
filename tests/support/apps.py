"""The memory profile's Flask app for the HTTP unit tests: built once per set of settings, fresh for
each test.

Building an app costs a quarter of a second of CPU (flask-smorest's OpenAPI document, Werkzeug's
compiled rules, the container's wiring) and the unit tests need hundreds. On the memory profile
every piece of state lives in the container's singletons or in the app's rate-limit counters, so a
built app is reused: before each test its container drops every singleton and every override made
since it was built, the counters are emptied, and the container is wired again if another test's
container took the wiring. What a test sees is what a newly built app shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dependency_injector import providers
from flask import Flask

from container import Container, resolve_settings
from entrypoints.http import app as app_module
from entrypoints.http.limits import EXTENSION as WRITE_LIMITER
from entrypoints.http.limits import READ_COUNTS_EXTENSION
from entrypoints.logs import configure_logging

Configure = Callable[[Container], None]


@dataclass
class _Built:
    app: Flask
    container: Container
    log_level: str
    # How many overrides each provider had once built: the settings live in the configuration's.
    baseline: list[tuple[providers.Provider, int]]


_built: dict[tuple[tuple[str, str], ...], _Built] = {}


def fresh_app(settings: Mapping[str, str], configure: Configure | None = None) -> Flask:
    """The app for these settings with the state of a new one; `configure` overrides providers
    (a clock, grant tables) as a test would before `create_app`."""
    if settings.get("profile") != "memory":
        raise ValueError("only the memory profile keeps all its state where it can be reset")
    key = tuple(sorted(settings.items()))
    built = _built.get(key)
    if built is None:
        container = Container()
        app = app_module.create_app(dict(settings), container)
        log_level = resolve_settings(dict(settings)).get("log_level") or "info"
        baseline = [(p, len(p.overridden)) for p in container.traverse()]
        built = _built[key] = _Built(app, container, log_level, baseline)
    _reset(built)
    if configure is not None:
        configure(built.container)
    return built.app


def _reset(built: _Built) -> None:
    container = built.container
    for provider, overrides in built.baseline:
        while len(provider.overridden) > overrides:
            provider.reset_last_overriding()
    container.reset_singletons()
    if not _wired_to(container):
        container.wire()
    # What create_app does outside the container: the logging set up (another app may have changed
    # it since), the hook on the live-delivery hub (a new singleton now).
    configure_logging(built.log_level)
    app_module._start_live_delivery(container)
    limiter = built.app.extensions.get(WRITE_LIMITER)
    if limiter is not None:
        limiter.reset()
    read_counts = built.app.extensions.get(READ_COUNTS_EXTENSION)
    if read_counts is not None:
        read_counts.reset()


def _wired_to(container: Container) -> bool:
    """Whether the views inject from this container (creating or unwiring another moves them).

    Reads dependency-injector's registry of patched functions; if that changes, this answers no and
    the container is wired again, which is only slower.
    """
    try:
        from dependency_injector.wiring import _patched_registry

        from entrypoints.http.common import current_actor

        patched = _patched_registry.get_callable(current_actor)
        return patched.injections.get("authenticator") is container.core.authenticator
    except Exception:  # noqa: BLE001 (any doubt means wiring again)
        return False
