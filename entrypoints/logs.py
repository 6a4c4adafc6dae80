"""Structured JSON logs for every logger in the process: Parley's, the libraries', gunicorn's.

One formatter renders every line: structlog's `ProcessorFormatter` on a handler of the *root*
logger. Parley's own loggers (structlog over the standard library) hand it their event dicts; any
other logger's record (gunicorn's `gunicorn.error` and `gunicorn.access`, botocore, werkzeug…) gets
the same fields added by `_FOREIGN_PRE_CHAIN`. So every line is one JSON object with `timestamp`,
`level`, `event`, `logger`, `pid` and, while a request runs, its `request_id`.

Credentials never reach a line. Parley's request log is built from an allow-list of fields (never
headers, never the query string); whatever else a record carries (a library's message, an
exception, a request line gunicorn could not parse) goes through `redact_secrets`, which replaces
secret-named fields, `Bearer …`/`Basic …` values, `Authorization:` header values, `token=` URL
parameters and anything shaped like a JWT with `[redacted]`, in the rendered line as well.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import structlog

SECRET_KEYS = frozenset(
    {"authorization", "token", "access_token", "id_token", "refresh_token", "cookie", "password", "secret"}
)
REDACTED = "[redacted]"


def _secret_patterns(stop: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """What a credential looks like; a value runs up to one of the `stop` characters."""
    value = rf"[^\s{stop}]+"
    return (
        # An Authorization header, however written: `Authorization: Bearer x`, `'authorization': 'x'`.
        (re.compile(rf"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic|token)\s+)?{value}"),
         rf"\1{REDACTED}"),
        (re.compile(rf"(?i)\b(bearer|basic)\s+{value}"), rf"\1 {REDACTED}"),
        # `token=` (access_token=, id_token=…, percent-encoded `token%3D` too) in a URL or a form.
        (re.compile(rf"(?i)(token(?:=|%3D))[^\s{stop}]*"), rf"\1{REDACTED}"),
        # A JWT anywhere (a path, an error message, a websocket frame): header.payload.signature, the
        # first two base64url-encoded JSON objects, which therefore start with `eyJ` (`{"`).
        (re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), REDACTED),
    )


_IN_TEXT = _secret_patterns("\"'&,;")
# In rendered JSON a value also stops at a backslash, so that an escape is never cut in half.
_IN_JSON = _secret_patterns("\"'&,;\\\\")

# Every pattern above needs one of these words (a JWT, `eyJ`).
_MAY_HOLD_A_SECRET = re.compile(r"(?i)token|bearer|basic|authorization|eyJ")

_configured = False


def scrub(text: str, patterns: tuple[tuple[re.Pattern[str], str], ...] = _IN_TEXT) -> str:
    """`text` with every credential-shaped part replaced by `[redacted]`."""
    if not _MAY_HOLD_A_SECRET.search(text):  # one scan for most strings instead of one per pattern
        return text
    for pattern, replacement in patterns:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: no field of the event, however deep, carries a credential."""
    for key, value in list(event.items()):
        if not key.startswith("_"):  # structlog's own bookkeeping (`_record`) is not rendered
            event[key] = _redact_value(key, value)
    return event


_TERMINAL_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def _plain_event(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A library's message without terminal colours (werkzeug colours its request lines)."""
    if isinstance(event.get("event"), str):
        event["event"] = _TERMINAL_STYLE.sub("", event["event"])
    return event


def _add_pid(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Which process wrote the line: gunicorn's master or one of its workers."""
    event.setdefault("pid", os.getpid())
    return event


def _leading_keys(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """When, how bad and what first: a line read by a person starts with what it is about."""
    head = {k: event.pop(k) for k in ("timestamp", "level", "event", "logger") if k in event}
    return {**head, **event}


class _ScrubbedJSON:
    """The last processor: JSON, scrubbed once more as text (a value `repr`-ed into a string that
    the field-wise pass could not take apart still never shows a credential)."""

    def __init__(self) -> None:
        # Not ASCII-escaped: a line stays readable, and a text search finds what it shows.
        self._render = structlog.processors.JSONRenderer(sort_keys=False, ensure_ascii=False)

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> str:
        return scrub(self._render(logger, method, event), _IN_JSON)


_SHARED: list[Callable] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _add_pid,
]
# What a record from a plain `logging` logger gets before the common processors run.
_FOREIGN_PRE_CHAIN: list[Callable] = [*_SHARED, _plain_event]


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """The one formatter of every line; gunicorn.conf.py names it in its `logconfig_dict`."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FOREIGN_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            _leading_keys,
            _ScrubbedJSON(),
        ],
    )


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (a test harness swaps it), one line per record."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _log_thread_error(args: threading.ExceptHookArgs) -> None:
    """A thread's uncaught error as one JSON line instead of a bare traceback on stderr."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    logging.getLogger("parley.threads").error("thread %s failed", name, exc_info=exc_info)


def _has_json_handler(handlers: Iterable[logging.Handler]) -> bool:
    return any(isinstance(h.formatter, structlog.stdlib.ProcessorFormatter) for h in handlers)


def configure_logging(level: str = "info") -> None:
    """Route every logger through the JSON formatter; set structlog up once per process.

    Under gunicorn, its `logconfig_dict` has put the handler on the root logger already (in the
    master, before the workers fork); elsewhere (`parley serve`, the CLI, tests) it is added here.
    Later calls only adjust the level.
    """
    global _configured
    logging.getLogger("parley").setLevel(level.upper())
    # botocore says at INFO where it found credentials, for every client it makes: noise in the
    # service's log and a second line under a CLI command's one-line error. Warnings still show.
    botocore = logging.getLogger("botocore")
    if botocore.level == logging.NOTSET:
        botocore.setLevel(logging.WARNING)
    root = logging.getLogger()
    if not _has_json_handler(root.handlers):
        handler = StderrHandler()
        handler.setFormatter(json_formatter())
        root.addHandler(handler)
        root.setLevel(level.upper())
    if _configured:
        return
    logging.captureWarnings(True)  # a library's warnings.warn becomes a JSON line, not raw stderr
    if threading.excepthook is threading.__excepthook__:  # nobody (a test runner) replaced it
        threading.excepthook = _log_thread_error
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            # Also here, so that a handler with another formatter (a test's log capture) sees no secret.
            redact_secrets,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _configured = True


def render(record: logging.LogRecord) -> str:
    """The JSON line a record becomes (for tests that read records from a log capture)."""
    return json_formatter().format(record)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(f"parley.{name}")
