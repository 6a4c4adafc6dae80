"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from container import SQL_PROFILES, Container, resolve_settings, settings_from_env
from entrypoints.http import algorea, chat, dm, forum, live, openapi, ops, sessions, sls, social, webapp
from entrypoints.http.common import refuse_nul_in_url
from entrypoints.http.errors import register_error_handlers
from entrypoints.http.limits import BoundedRequest, install_read_limit, install_write_limit
from entrypoints.http.sls.settings import ServerlessSettings
from entrypoints.logs import configure_logging
from entrypoints.metrics import EVENTS_PUBLISHED
from entrypoints.ws import algorea as algorea_ws
from entrypoints.ws import endpoint as _ws_routes  # noqa: F401  (registers /ws on `sock`)
from entrypoints.ws import handshake, restart, sock

MAX_BODY_BYTES = 64 * 1024
WS_PING_SECONDS = 25


def _start_live_delivery(container: Container) -> None:
    hub = container.core.hub()
    if _count_published not in hub.observers:
        hub.observers.append(_count_published)
    if container.config.fanout() == "redis":
        relay = container.core.redis_relay()
        relay.on_tick = container.core.notifier().flush
        relay.start()


def _count_published(publications) -> None:
    EVENTS_PUBLISHED.inc(len(publications))


def create_app(settings: Mapping[str, str] | None = None, container: Container | None = None) -> Flask:
    container = container or Container()
    resolved = resolve_settings(settings) if settings is not None else settings_from_env()
    container.config.from_dict(resolved)
    configure_logging(resolved.get("log_level") or "info")
    container.wire()
    # Built now so that a bad key or setting stops the start, not the first request.
    container.core.authenticator()
    container.core.thread_tokens()
    container.sessions.deps()  # the session settings: lifetimes, cache bound, token key
    algorea_backend = container.forum.algorea_settings()  # its prefix and events credential
    serverless = ServerlessSettings.from_settings(resolved)  # where AlgoREA's serverless surface goes
    if resolved["profile"] in SQL_PROFILES:
        # The embedded profile creates and migrates its SQLite file here, not at the first request.
        container.core.sql_engine()

    app = Flask("parley")
    app.request_class = BoundedRequest
    app.container = container
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    ops.install_request_hooks(app)
    app.before_request(refuse_nul_in_url)
    handshake.install(app)
    restart.install(app)
    # Each context's flask-smorest blueprint is registered with `api` (entrypoints/http/blueprint.py).
    api = openapi.init_api(app)
    register_error_handlers(app)
    api.register_blueprint(ops.bp)
    api.register_blueprint(forum.bp)
    api.register_blueprint(social.bp)
    api.register_blueprint(chat.bp)
    api.register_blueprint(live.bp)
    api.register_blueprint(sessions.bp)
    api.register_blueprint(dm.bp)
    # Always mounted: it is AlgoREA's shape of the forum's own use cases, under the same credentials
    # (docs/algorea.md); only the event sender's secret is optional.
    api.register_blueprint(algorea.bp, url_prefix=algorea_backend.prefix or None)
    api.register_blueprint(algorea.events_bp, url_prefix=algorea_backend.prefix or None)
    app.register_blueprint(openapi.bp)
    # The web client and its development sign-in (which answers only on the demo profiles).
    app.register_blueprint(webapp.bp)
    # AlgoREA's serverless forum API and its websocket (docs/algorea.md): AlgoREA's shapes of the
    # forum's own use cases, under the same credentials.
    app.register_blueprint(sls.bp, url_prefix=serverless.prefix)
    app.register_blueprint(algorea_ws.bp, url_prefix=serverless.ws_path)
    app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": WS_PING_SECONDS, "max_message_size": 64 * 1024}
    sock.init_app(app)
    _start_live_delivery(container)
    # Last, so that every route registered above is covered.
    install_write_limit(app, resolved)
    install_read_limit(app, resolved)
    return app
