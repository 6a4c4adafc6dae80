"""Per-user rate limits on writes (Flask-Limiter) and on reads, answered with 429, Retry-After and the
error envelope.

The limits are checked inside each view rather than in an app-wide before_request hook: the user is
known only once the blueprint's authentication hook has run, and a limit keyed by the network
address would throttle every user behind one proxy together.

Read counters live in each process's memory, never in Redis: a read must not wait for the counters'
storage during a Redis outage (docs/operations.md, "Backend outages"), so with several processes a
user may read up to that many times the limit. It bounds what one user costs a process.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping

from flask import Flask, Request, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import RequestEntityTooLarge

from container import rate_limit_storage_uri
from entrypoints.http.errors import error_response

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
READ_METHODS = ("GET", "HEAD")
# Health, metrics and the API document are for probes and scrapers, not users: never read-limited.
READ_LIMIT_EXEMPT_BLUEPRINTS = ("ops", "openapi")
DISABLED = ("", "off", "none", "0")
EXTENSION = "parley.limiter"
# The read limit's counters (in this process's memory), kept where a test reusing an app can empty them.
READ_COUNTS_EXTENSION = "parley.read_counts"
# Each call to the counters' Redis gives up after this long. A write during a Redis outage may make
# two (the count, then Flask-Limiter's recovery probe) before its publication: see docs/operations.md,
# "Backend outages", for the two-second budget.
STORAGE_TIMEOUT_SECONDS = 0.25


class BoundedRequest(Request):
    """A request whose body over MAX_CONTENT_LENGTH is a 413 even when no Content-Length came.

    Werkzeug stops reading a chunked body at the limit without an error, so a large body would
    be silently cut and reported as malformed JSON (400), or worse, parse.
    """

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False):
        cached = getattr(self, "_cached_data", None) is not None
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        limit = self.max_content_length
        at_limit = not cached and limit is not None and self.content_length is None and len(data) >= limit
        # The limited stream is spent; one more byte from the server's own stream tells "exactly
        # the limit" from "over it".
        if at_limit and self.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data


def rate_limit_key() -> str:
    actor = g.get("actor")
    if actor is not None and actor.user_id is not None:
        return f"user:{actor.user_id}"
    return f"addr:{get_remote_address()}"


def install_write_limit(app: Flask, settings: Mapping[str, str], exempt: frozenset[str] = frozenset()) -> None:
    """Wrap every view registered so far (except `exempt` endpoints) with the shared write limit.

    Call it after all blueprints are registered. PARLEY_WRITE_RATE_LIMIT takes Flask-Limiter's
    syntax ("120/minute", or several joined by ";"); "off" disables the limit.
    """
    rate = (settings.get("write_rate_limit") or "").strip()
    if rate.lower() in DISABLED:
        return
    parse_many(rate)  # a typo in the setting stops the start, not the first write
    storage = rate_limit_storage_uri(settings)
    shared_store = not storage.startswith("memory")
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=storage,
        # Short socket timeouts and an in-process fallback: a Redis outage must not stall or fail writes.
        storage_options=(
            {"socket_timeout": STORAGE_TIMEOUT_SECONDS, "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS}
            if shared_store
            else {}
        ),
        in_memory_fallback_enabled=shared_store,
        swallow_errors=True,
        headers_enabled=False,
        key_prefix="parley",
    )
    app.extensions[EXTENSION] = limiter
    # Reads are never limited, so they never touch the counters' storage: a Redis outage (whose
    # recovery Flask-Limiter probes on the requests it sees) must not slow them down.
    limiter.request_filter(_is_read)
    write_limit = limiter.shared_limit(rate, scope="writes", methods=list(WRITE_METHODS))
    for endpoint, view in list(app.view_functions.items()):
        if endpoint not in exempt and endpoint != "static" and not endpoint.startswith("__flask_sock"):
            app.view_functions[endpoint] = write_limit(view)
    app.register_error_handler(RateLimitExceeded, _rate_limited)


def _is_read() -> bool:
    return request.method not in WRITE_METHODS


def _retry_after() -> int:
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 1
    return max(1, math.ceil(current.reset_at - time.time()))


def _rate_limited(error: RateLimitExceeded):
    retry_after = _retry_after()
    return error_response(
        429,
        f"too many writes, try again in {retry_after} s",
        "rate_limited",
        {"limit": [str(error.description)], "method": [request.method]},
        {"Retry-After": str(retry_after)},
    )


class ReadRateLimited(Exception):
    def __init__(self, limit: RateLimitItem, retry_after: int):
        super().__init__(str(limit))
        self.limit, self.retry_after = limit, retry_after


def install_read_limit(app: Flask, settings: Mapping[str, str]) -> None:
    """Wrap every user-facing view registered so far with the per-user read limit (GET and HEAD).

    Call it after all blueprints are registered. PARLEY_READ_RATE_LIMIT takes the write limit's
    syntax ("600/minute", or several joined by ";"); "off" disables the limit.
    """
    rate = (settings.get("read_rate_limit") or "").strip()
    if rate.lower() in DISABLED:
        return
    limits = parse_many(rate)  # a typo in the setting stops the start, not the first read
    counts = MemoryStorage()
    app.extensions[READ_COUNTS_EXTENSION] = counts
    counter = MovingWindowRateLimiter(counts)
    for endpoint, view in list(app.view_functions.items()):
        blueprint = endpoint.partition(".")[0] if "." in endpoint else None
        if endpoint == "static" or endpoint.startswith("__flask_sock") or blueprint in READ_LIMIT_EXEMPT_BLUEPRINTS:
            continue
        app.view_functions[endpoint] = _read_limited(view, counter, limits)
    app.register_error_handler(ReadRateLimited, _reads_limited)


def _read_limited(view: Callable, counter: MovingWindowRateLimiter, limits: list[RateLimitItem]) -> Callable:
    @functools.wraps(view)
    def limited(*args, **kwargs):
        if request.method in READ_METHODS:
            key = rate_limit_key()
            for limit in limits:
                if not counter.hit(limit, "reads", key):
                    reset_at = counter.get_window_stats(limit, "reads", key).reset_time
                    raise ReadRateLimited(limit, max(1, math.ceil(reset_at - time.time())))
        return view(*args, **kwargs)

    return limited


def _reads_limited(error: ReadRateLimited):
    return error_response(
        429,
        f"too many reads, try again in {error.retry_after} s",
        "rate_limited",
        {"limit": [str(error.limit)], "method": [request.method]},
        {"Retry-After": str(error.retry_after)},
    )
