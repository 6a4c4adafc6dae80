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


class ArgumentsRefused(Exception):
    """A request's body or query string refused while `@blp.arguments` read it (entrypoints/http/
    arguments.py); answered as the error it carries, a DomainError or a marshmallow ValidationError."""

    def __init__(self, error: DomainError | ValidationError):
        super().__init__(str(error))
        self.error = error


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


WEBARGS_LOCATIONS = {"json", "query", "querystring", "form", "headers", "cookies", "files", "json_or_form",
                     "view_args", "path"}
# The code of an error raised with flask-smorest's `abort(status, message=..., errors=...)`: the one
# our own errors of that status carry.
ABORT_CODES = {status: kind.code for kind, status in reversed(STATUS_OF)}


def register_error_handlers(app: Flask) -> None:
    """Every error becomes the envelope: ours, marshmallow's, Werkzeug's, and flask-smorest's
    `abort` (webargs' `abort`, which keeps its keyword arguments on `error.data`)."""
    app.register_error_handler(ArgumentsRefused, arguments_refused)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(ValidationError, validation_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def arguments_refused(error: ArgumentsRefused):
    if isinstance(error.error, ValidationError):
        return validation_error(error.error)
    return domain_error(error.error)


def domain_error(error: DomainError):
    status = _status_for(error)
    headers = {}
    if isinstance(error, BackendUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="parley"'
    return error_response(status, error.message, error.code, error.details, headers)


def validation_error(error: ValidationError):
    details = error.messages if isinstance(error.messages, dict) else {"body": error.messages}
    return error_response(400, "invalid input", "invalid_request", _flatten(details))


def http_error(error: HTTPException):
    data = getattr(error, "data", None)
    if isinstance(data, dict):
        return _aborted(error, data)
    code = code_for_status(error.code or 500, error.name)
    # Keep what the exception says about itself, such as Allow on a 405.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return error_response(error.code or 500, error.description or error.name, code, headers=headers)


def unexpected(error: Exception):
    log.exception("unhandled error")
    return error_response(500, "internal error", "internal_error")


def _aborted(error: HTTPException, data: dict):
    """flask-smorest's `abort(404, message="no such room", errors={"room_id": ["unknown"]})`, or
    webargs' own 422 for a schema's refusal (from a parser other than ours): the same envelope,
    code and status as our own errors of that kind."""
    refusal = getattr(error, "exc", None)  # webargs keeps the ValidationError beside `data`
    if isinstance(refusal, ValidationError):
        messages = refusal.messages
        if isinstance(messages, dict) and len(messages) == 1 and set(messages) <= WEBARGS_LOCATIONS:
            (messages,) = messages.values()  # webargs' location level
        return validation_error(ValidationError(messages))
    status = error.code or 500
    details = data.get("errors") or data.get("messages") or {}
    details = _flatten(details if isinstance(details, dict) else {"body": details})
    code = ABORT_CODES.get(status) or code_for_status(status, error.name)
    headers = dict(data.get("headers") or {})
    return error_response(status, data.get("message") or error.description or error.name, code, details, headers)


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
