"""flask-smorest with Parley's conventions, and how a context adds its HTTP API.

A context keeps its endpoints in a package `entrypoints/http/<context>/` whose `__init__.py` makes
the blueprint, with its schemas beside it, and one line in `entrypoints/http/app.py` registers it
(`api.register_blueprint(chat.bp)`). The OpenAPI document comes from the views themselves:

    bp = Blueprint("chat", __name__, url_prefix="/chat", description="Chat rooms")

    @bp.post("/rooms/<id64:room_id>/comments")      # id64: a positive 64-bit id, given as an int
    @bp.arguments(CommentBody, example={...})        # the JSON body (location="query" for a query)
    @bp.response(201, CommentCreated)                # the success status and its schema
    @bp.errors(404, 409)                             # statuses beyond the usual ones below
    def add_comment(body: dict, room_id: int):
        \"\"\"Add a comment to a room (members only)\"\"\"  # the operation's summary
        ...
        return created(render(comment))              # common.py: created / updated / deleted

What the blueprint does for every view:
- authenticates the request first (`g.actor`), unless made with `public=True`; then refuses a
  malformed `<id64:…>` segment with a 400 naming it (converters.py);
- reads arguments with `EnvelopeParser` (arguments.py): refusals are the error envelope, 400
  `invalid_request` with the field's messages, 415 for a body that is not JSON;
- `@bp.response` documents the schema but sends what the view returns as it is (a Response, or
  data for `jsonify`): views render their own JSON, so a schema never changes a reply's bytes;
- documents the error statuses with the envelope: 400 401 403 429 503 on reads and on
  writes, 413 415 422 with a JSON body, plus `@bp.errors(...)`; none by default when public.
"""

from __future__ import annotations

from copy import deepcopy
from functools import wraps
from typing import Any

import flask_smorest
from flask import Response, jsonify

from entrypoints.http.arguments import EnvelopeParser
from entrypoints.http.common import authenticate_request
from entrypoints.http.converters import refuse_malformed_ids

# Reads have a per-user rate limit too (PARLEY_READ_RATE_LIMIT); probes are public and never limited.
READ_ERRORS = (400, 401, 403, 429, 503)
WRITE_ERRORS = (400, 401, 403, 429, 503)
BODY_ERRORS = (413, 415, 422)
ERROR_TEXT = {
    400: "Malformed request: a bad id, cursor, query parameter or JSON body",
    401: "No credentials, or credentials that do not check out",
    403: "Not allowed for this user",
    404: "No such resource, or not visible",
    409: "State conflict, such as writing on a closed thread",
    413: "Body over 64 KiB",
    415: "Body is not JSON",
    422: "Valid JSON with invalid values",
    426: "Not a websocket upgrade, or a websocket version other than 13",
    429: "Too many writes, or too many reads, by this user: wait Retry-After seconds",
    503: "A backend is unavailable: retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}
REQUEST_ID = {"X-Request-Id": {"description": "the request's id, as logged", "schema": {"type": "string"}}}
CREDENTIALS = [{"bearer": []}, {"devUser": []}]
ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def error_response_doc(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_TEXT[status],
        "content": {"application/json": {"schema": ERROR_SCHEMA_REF}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


class Api(flask_smorest.Api):
    """The app's flask-smorest extension; errors are answered by entrypoints/http/errors.py."""

    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """flask-smorest's own handler would answer `{code, status, message}`: ours answer instead."""


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = EnvelopeParser()

    def __init__(self, name: str, import_name: str, *, public: bool = False, **kwargs):
        super().__init__(name, import_name, **kwargs)
        self.public = public
        if not public:
            self.before_request(authenticate_request)
        self.before_request(refuse_malformed_ids)
        self._prepare_doc_cbks.append(self._prepare_envelope_doc)

    def response(self, status_code: int, schema=None, **kwargs):
        documented = super().response(status_code, schema, **kwargs)

        def decorator(view):
            @wraps(view)
            def rendered(*args, **kw):
                reply = view(*args, **kw)
                if isinstance(reply, Response):
                    return reply
                response = jsonify(reply)
                response.status_code = int(status_code)
                return response

            return documented(rendered)

        return decorator

    @staticmethod
    def errors(*statuses: int):
        """Document error statuses beyond the usual ones (see the module's docstring)."""

        def decorator(view):
            view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
            view._apidoc.setdefault("errors", []).extend(statuses)
            return view

        return decorator

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc.setdefault("manual_doc", {}).setdefault("operationId", f"{self.name}_{endpoint}")

    def _prepare_envelope_doc(self, doc, doc_info, *, method, **kwargs):
        responses = doc.setdefault("responses", {})
        for status in [s for s, response in responses.items() if isinstance(response, str)]:
            del responses[status]  # webargs' refusal as flask-smorest documents it: ours replace it
        for status in doc_info.get("success_status_codes", []):
            responses[status].setdefault("headers", {}).update(REQUEST_ID)
        for status in sorted(self._error_statuses(method, doc, doc_info)):
            responses[status] = error_response_doc(status)
        doc["security"] = [] if self.public else CREDENTIALS
        return doc

    def _error_statuses(self, method: str, doc: dict, doc_info: dict) -> set[int]:
        statuses = set(doc_info.get("errors", ()))
        if not self.public:
            statuses.update(READ_ERRORS if method in ("get", "head") else WRITE_ERRORS)
            if "requestBody" in doc:
                statuses.update(BODY_ERRORS)
        return statuses
