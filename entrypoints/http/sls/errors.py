"""The serverless API's errors, in AlgoREA serverless's shape: `{"message", "details"}` with 400
`decoding error`, 401 `authentication error`, 403 `forbidden`; never Parley's envelope here.

Parley's errors map onto them: a malformed or invalid value is a decoding error (AlgoREA has no
422), and a state conflict (posting on a thread that is not open, a uuid another message has) is
forbidden, which is what AlgoREA's backend says with `can_write: false` on such a thread.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.exceptions import HTTPException

from application.shared import BackendUnavailable, Unauthenticated
from domain.shared import Conflict, DomainError, Forbidden, InvalidRequest, InvalidValue, NotFound

KINDS: list[tuple[type[DomainError], int, str]] = [
    (Unauthenticated, 401, "authentication error"),
    (Forbidden, 403, "forbidden"),
    (Conflict, 403, "forbidden"),
    (NotFound, 404, "not found"),
    (InvalidValue, 400, "decoding error"),
    (InvalidRequest, 400, "decoding error"),
    (BackendUnavailable, 503, "service unavailable"),
]


def reply(status: int, message: str, details: str | None = None, headers: dict | None = None):
    body = {"message": message} if details is None else {"message": message, "details": details}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def describe(error: DomainError) -> str:
    """AlgoREA's `details` is one string: the reason, then each field's."""
    fields = "; ".join(f"{name}: {', '.join(why)}" for name, why in error.details.items())
    return f"{error.message} ({fields})" if fields else error.message


def domain_error(error: DomainError):
    for kind, status, message in KINDS:
        if isinstance(error, kind):
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, BackendUnavailable) else None
            return reply(status, message, describe(error), headers)
    return reply(400, "decoding error", describe(error))


def http_error(error: HTTPException):
    """Werkzeug's own refusals (a body over 64 KiB, a method the path has not): their status, this shape."""
    status = error.code or 400
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return reply(status, (error.name or "error").lower(), error.description, headers)


def install(bp: Blueprint) -> None:
    bp.register_error_handler(DomainError, domain_error)
    bp.register_error_handler(HTTPException, http_error)
