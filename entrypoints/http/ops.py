"""Operability: /healthz, /readyz, /metrics, request ids, and one JSON log line per request."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import structlog
from dependency_injector.wiring import Provide, inject
from flask import Flask, Response, current_app, g, jsonify, request
from marshmallow import fields, validate
from werkzeug.wsgi import ClosingIterator

from application.shared import HealthCheck
from entrypoints import draining, metrics
from entrypoints.http.blueprint import RETRY_AFTER, Blueprint
from entrypoints.http.errors import error_response
from entrypoints.http.schemas import Out
from entrypoints.logs import get_logger

bp = Blueprint("ops", __name__, public=True, description="Health, readiness and metrics")
log = get_logger("http")

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_ENVIRON = "parley.request_id"
# Echoed into logs and headers, so only short plain tokens are taken from the client.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
READY_RETRY_AFTER = 5


class Health(Out):
    status = fields.String(required=True)


class CheckResult(Out):
    status = fields.String(required=True, validate=validate.OneOf(["up", "down"]))
    duration_ms = fields.Float()
    error = fields.String()


class Readiness(Out):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "unavailable"]))
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckResult), required=True)


class Index(Out):
    service = fields.String()
    docs = fields.String()
    openapi = fields.String()
    websocket = fields.String()
    health = fields.Dict(keys=fields.String(), values=fields.String())
    contexts = fields.List(fields.String())
    readme = fields.String()


@bp.get("/")
@bp.response(200, Index)
def index():
    """Where to go next: the docs, the API document, the websocket"""
    return jsonify(
        {
            "service": "parley",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "websocket": "/ws?token=<JWT>",
            "health": {"live": "/healthz", "ready": "/readyz"},
            "contexts": ["/forum", "/chat", "/dm", "/live", "/sessions", "/social"],
            "readme": "the README's walkthrough mints a token with scripts/token --user 1",
        }
    )


@bp.get("/healthz")
@bp.response(200, Health)
def healthz():
    """The process is up"""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@bp.response(200, Readiness)
@bp.alt_response(503, schema=Readiness, description="A backend is down", headers=RETRY_AFTER)
@inject
def readyz(checks: list = Provide["core.health_checks"], timeout: str = Provide["config.ready_timeout"]):
    """Every configured backend answers (503 with Retry-After when one does not, or while the server drains)"""
    if draining.is_draining():
        # Stopping (SIGTERM): the balancer or checker must send nothing new here.
        results = {"server": {"status": "down", "error": "draining"}}
    else:
        results = run_checks([c for c in checks if c is not None], float(timeout or 2))
    ready = all(r["status"] == "up" for r in results.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": results})
    if not ready:
        response.status_code = 503
        response.headers["Retry-After"] = str(READY_RETRY_AFTER)
    return response


def run_checks(checks: list[HealthCheck], timeout: float) -> dict[str, dict]:
    """Probe every backend at once; one that has not answered by the deadline counts as down."""
    if not checks:
        return {}
    results: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    try:
        started = time.perf_counter()
        futures = {c.name: pool.submit(_timed, c) for c in checks}
        for name, future in futures.items():
            remaining = max(0.0, timeout - (time.perf_counter() - started))
            try:
                results[name] = future.result(timeout=remaining)
            except FutureTimeout:
                results[name] = {"status": "down", "error": "timeout"}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _timed(check: HealthCheck) -> dict:
    started = time.perf_counter()
    try:
        check.check()
    except Exception as err:  # noqa: BLE001 (any failure means not ready; the class name says which)
        # Only the class name: messages can carry connection strings with passwords.
        return {"status": "down", "error": type(err).__name__}
    return {"status": "up", "duration_ms": round((time.perf_counter() - started) * 1000, 2)}


@bp.get("/metrics")
@bp.response(200, {"type": "string"}, content_type="text/plain")
@bp.errors(401, 403)
def prometheus_metrics():
    """Prometheus metrics

    Open to a scraper on this machine; from anywhere else only with PARLEY_METRICS_TOKEN.
    """
    refusal = _metrics_refusal(current_app.container.config.get("metrics_token"))
    if refusal is not None:
        return refusal
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


def _metrics_refusal(token: str | None):
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        return error_response(
            401,
            "a metrics token is required",
            "unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if _is_loopback(request.remote_addr):
        return None
    return error_response(403, "set PARLEY_METRICS_TOKEN to scrape metrics from another host", "forbidden")


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def install_request_hooks(app: Flask) -> None:
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)
    app.before_request(_start_request)
    app.after_request(_finish_request)


def request_id_for(incoming: str) -> str:
    return incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Binds the request id to the log context for the whole WSGI call, until the server closes the
    response: so the lines logged after the view returned (gunicorn's access line, a failure while
    the body is sent) carry it too, not only the view's own lines."""

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        environ[REQUEST_ID_ENVIRON] = request_id
        # A fresh context: the same thread or greenlet serves the next request on a kept-alive connection.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            structlog.contextvars.clear_contextvars()
            raise
        return ClosingIterator(body, structlog.contextvars.clear_contextvars)


@functools.lru_cache(maxsize=512)
def route_label(rule: str) -> str:
    """The URL rule without its converters (`<id64:item_id>` is `<item_id>`): the label of the metrics
    and logs, which dashboards key on, stays the same whatever converter a route uses."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", rule)


def _start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request.environ.get(REQUEST_ID_ENVIRON) or request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))


def _finish_request(response: Response) -> Response:
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    route = route_label(request.url_rule.rule) if request.url_rule is not None else metrics.UNMATCHED_ROUTE
    metrics.HTTP_REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(duration)
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    actor = g.get("actor")
    # An allow-list of fields: the path without its query string (websocket tokens travel there),
    # and never a header.
    log.info(
        "request",
        method=request.method,
        route=route,
        path=request.path,
        status=response.status_code,
        duration_ms=round(duration * 1000, 2),
        user_id=None if actor is None or actor.user_id is None else str(actor.user_id),
        request_id=request_id,
    )
    return response
