"""The JSON error envelope of DESIGN.md §4.1, and the mapping from errors to HTTP statuses."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from application.shared import BackendUnavailable, Unauthenticated
from domain.shared import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    InvalidValue,
    NotFound,
)

log = logging.getLogger(__name__)

STATUS_OF: list[tuple[type[DomainError], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidValue, 422),
    (InvalidRequest, 400),
    (BackendUnavailable, 503),
]


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


STATUS_OF += [(PayloadTooLarge, 413), (UnsupportedMediaType, 415)]
# Werkzeug's own errors (a body over MAX_CONTENT_LENGTH, chunked or not) get the codes ours use.
HTTP_CODES = {413: PayloadTooLarge.code, 415: UnsupportedMediaType.code, 429: "rate_limited"}


def error_body(message: str, code: str, details: dict | None = None) -> dict:
    return {"success": False, "message": message, "error": {"code": code, "details": details or {}}}


def code_for_status(status: int, name: str) -> str:
    """The machine code of an HTTP error raised below our own code (Werkzeug's, gunicorn's)."""
    return HTTP_CODES.get(status) or (name or "error").lower().replace(" ", "_")


def error_response(status: int, message: str, code: str, details: dict | None = None, headers=None):
    response = jsonify(error_body(message, code, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _status_for(error: DomainError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        status = _status_for(error)
        headers = {}
        if isinstance(error, BackendUnavailable):
            headers["Retry-After"] = str(error.retry_after)
        if isinstance(error, Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="parley"'
        return error_response(status, error.message, error.code, error.details, headers)

    @app.errorhandler(ValidationError)
    def validation_error(error: ValidationError):
        details = error.messages if isinstance(error.messages, dict) else {"body": error.messages}
        return error_response(400, "invalid input", "invalid_request", _flatten(details))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = code_for_status(error.code or 500, error.name)
        # Keep what the exception says about itself, such as Allow on a 405.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return error_response(error.code or 500, error.description or error.name, code, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal error", "internal_error")


def _flatten(details: dict) -> dict[str, list[str]]:
    """marshmallow nests messages for nested fields; clients get `field: [why, ...]`."""
    flat: dict[str, list[str]] = {}
    for name, value in details.items():
        if isinstance(value, dict):
            for sub, msgs in _flatten(value).items():
                flat[f"{name}.{sub}"] = msgs
        elif isinstance(value, list):
            flat[str(name)] = [str(v) for v in value]
        else:
            flat[str(name)] = [str(value)]
    return flat
