"""AlgoREA's error bodies, for this package's views only: `{"success": false, "message": "<HTTP
status text>", "error_text": "<Why>", "errors"?: {"<field>": ["<message>"]}}` (AlgoreaBackend,
app/service/errors.go). The rest of Parley keeps its own envelope (entrypoints/http/errors.py).

The forum's use cases word their refusals in Parley's terms; the table below gives AlgoREA's words
for the same rules, so a front end that shows the backend's messages shows the same ones.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Blueprint, jsonify
from flask_limiter import RateLimitExceeded
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from application.shared import BackendUnavailable, Unauthenticated
from domain.shared import DomainError, Forbidden, InvalidRequest
from entrypoints.http import limits
from entrypoints.http.errors import STATUS_OF, ArgumentsRefused

log = logging.getLogger(__name__)

INVALID_INPUT = "Invalid input data"
INSUFFICIENT_ACCESS_RIGHTS = "Insufficient access rights"
EMPTY_UPDATE = "Either status, helper_group_id, message_count or message_count_increment must be given"

# (field, Parley's message) -> (field, AlgoREA's message), for the thread update's rules.
BACKEND_WORDING: dict[tuple[str, str], tuple[str, str]] = {
    ("helper_group_id", "required when opening a thread"): (
        "status", "the helper_group_id must be set to switch from a non-open to an open status"),
    ("helper_group_id", "must not be given when the thread is closed"): (
        "helper_group_id", "the helper_group_id must not be given when setting or keeping status to closed"),
    ("helper_group_id", "the participant may not request help from this group"): (
        "helper_group_id", "the group must be descendant of a group the participant can request help to"),
    ("message_count", "must not be given together with message_count_increment"): (
        "message_count", "cannot have both message_count and message_count_increment set"),
}


class AlgoreaRefusal(DomainError):
    """A refusal already worded as AlgoREA's backend words it (`error_text`, optional `errors`)."""

    def __init__(self, status: int, error_text: str, errors: dict[str, list[str]] | None = None):
        super().__init__(error_text, errors)
        self.status = status


def bad_request(error_text: str) -> AlgoreaRefusal:
    return AlgoreaRefusal(400, error_text)


def invalid_input(errors: dict[str, list[str]]) -> AlgoreaRefusal:
    return AlgoreaRefusal(400, INVALID_INPUT, errors)


def algorea_error(status: int, error_text: str, errors: dict | None = None, headers: dict | None = None):
    body: dict = {"success": False, "message": HTTPStatus(status).phrase}
    if error_text:
        body["error_text"] = error_text[:1].upper() + error_text[1:]
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install(bp: Blueprint) -> None:
    """Every error of `bp`'s requests (its hooks' too) answered in AlgoREA's style, never a 500."""
    bp.register_error_handler(ArgumentsRefused, _arguments_refused)
    bp.register_error_handler(RateLimitExceeded, _rate_limited)
    bp.register_error_handler(limits.ReadRateLimited, _rate_limited)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(ValidationError, _validation_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(Exception, _unexpected)


def _rate_limited(error: Exception):
    """The limits' own answer (its wording and Retry-After), in AlgoREA's body."""
    answer = limits._reads_limited(error) if isinstance(error, limits.ReadRateLimited) else limits._rate_limited(error)
    message = (answer.get_json() or {}).get("message", "too many requests")
    return algorea_error(429, message, headers={"Retry-After": answer.headers["Retry-After"]})


def _arguments_refused(error: ArgumentsRefused):
    if isinstance(error.error, ValidationError):
        return _validation_error(error.error)
    return _domain_error(error.error)


def _validation_error(error: ValidationError):
    messages = error.messages if isinstance(error.messages, dict) else {"body": error.messages}
    return algorea_error(400, INVALID_INPUT, {str(k): _strings(v) for k, v in messages.items()})


def _strings(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _strings(v)]
    return [str(value)]


def _domain_error(error: DomainError):
    if isinstance(error, AlgoreaRefusal):
        return algorea_error(error.status, error.message, error.details)
    if isinstance(error, Forbidden):
        return algorea_error(403, INSUFFICIENT_ACCESS_RIGHTS)
    if isinstance(error, Unauthenticated):
        return algorea_error(401, error.message, headers={"WWW-Authenticate": 'Bearer realm="parley"'})
    if isinstance(error, BackendUnavailable):
        return algorea_error(503, error.message, headers={"Retry-After": str(error.retry_after)})
    if isinstance(error, InvalidRequest):
        return _invalid_request(error)
    status = next((s for kind, s in STATUS_OF if isinstance(error, kind)), 400)
    return algorea_error(status, error.message, error.details)


def _invalid_request(error: InvalidRequest):
    details = error.details or {}
    if details == {"body": ["at least one field is required"]}:
        return algorea_error(400, EMPTY_UPDATE)
    path_ids = {"item_id", "participant_id"} & set(details)
    if path_ids and len(details) == 1:
        (name,) = path_ids
        return algorea_error(400, f"wrong value for {name} (should be int64)")
    errors: dict[str, list[str]] = {}
    for field, messages in details.items():
        for message in messages:
            name, text = BACKEND_WORDING.get((field, message), (field, message))
            errors.setdefault(name, []).append(text)
    return algorea_error(400, INVALID_INPUT if errors else error.message, errors)


def _http_error(error: HTTPException):
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if status == 413:
        return algorea_error(413, "the request body is over 64 KiB", headers=headers)
    return algorea_error(status, error.description or error.name, headers=headers)


def _unexpected(error: Exception):
    log.exception("unhandled error")
    return algorea_error(500, "internal error")
