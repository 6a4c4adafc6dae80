"""Structured JSON logs (structlog over the standard library's logging).

Every line is one JSON object. Credentials never reach a line: request logs are built from an
allow-list of fields (never headers, never the query string), and `redact_secrets` scrubs what a
careless caller might still pass (an `authorization` or `token` field, a `Bearer …` value, a
`token=` query parameter inside a URL).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

SECRET_KEYS = frozenset({"authorization", "token", "access_token", "id_token", "cookie", "password", "secret"})
REDACTED = "[redacted]"
_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"),
    re.compile(r"(?i)([?&](?:access_)?token=)[^&\s\"']*"),
)

_configured = False


def _scrub(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def redact_secrets(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event.items()):
        if key.lower() in SECRET_KEYS:
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = _scrub(value)
    return event


def _leading_keys(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """When, how bad and what first: a line read by a person starts with what it is about."""
    head = {k: event.pop(k) for k in ("timestamp", "level", "event", "logger") if k in event}
    return {**head, **event}


def configure_logging(level: str = "info") -> None:
    """Set structlog up once per process; later calls only adjust the level."""
    global _configured
    logging.getLogger("parley").setLevel(level.upper())
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            _leading_keys,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # A server (or pytest) that already routes the root logger somewhere keeps its handlers;
    # otherwise the JSON lines go to stderr, one per record, with nothing wrapped around them.
    parley = logging.getLogger("parley")
    if not logging.getLogger().handlers and not parley.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        parley.addHandler(handler)
    _configured = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(f"parley.{name}")
