"""How `@blp.arguments` reads a request: webargs' Flask parser, refusing what Parley refused before.

- a JSON body: not JSON is a 415, unparsable or nested past the parser's depth a 400 on `body`, not
  an object a 400 on `body`;
- a query string: a parameter given twice is a 400 ("give it once"), an unknown one a 400 (the
  schemas say `unknown = RAISE`; webargs would otherwise drop unknown query parameters);
- a value the schema refuses: a 400 `invalid_request` whose details are the schema's messages by
  field, without webargs' location level (`{"limit": [...]}`, not `{"query": {"limit": [...]}}`).

Every refusal is raised as `ArgumentsRefused`, which the error handlers answer with the envelope of
the error it carries; a view that must check something before admitting the body was wrong (the
thread update answers 403 first to a user who may not see the thread) catches it with
`check_before_refusing`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser

from domain.shared import DomainError, InvalidRequest
from entrypoints.http.errors import ArgumentsRefused, UnsupportedMediaType


class EnvelopeParser(FlaskParser):
    # The status the document gives a refused argument (the handlers answer it).
    DEFAULT_VALIDATION_STATUS = 400
    # The schema decides about unknown fields, in the query string too.
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {}

    def parse(self, *args, **kwargs) -> Any:
        try:
            return super().parse(*args, **kwargs)
        except (DomainError, ValidationError) as error:
            raise ArgumentsRefused(error) from error

    def load_json(self, req: Request, schema: Schema) -> Any:
        if not req.is_json:
            raise UnsupportedMediaType("request body must be JSON", {"Content-Type": ["use application/json"]})
        try:
            data = req.get_json(silent=True)
        except RecursionError:  # nesting deep enough to exhaust the parser is malformed input, not a 500
            data = None
        if data is None:
            raise InvalidRequest("malformed JSON body", {"body": ["is not valid JSON"]})
        if not isinstance(data, dict):
            raise InvalidRequest("JSON body must be an object", {"body": ["must be a JSON object"]})
        return data

    def load_querystring(self, req: Request, schema: Schema) -> Any:
        args = {}
        for name in req.args:
            values = req.args.getlist(name)
            if len(values) > 1:
                raise InvalidRequest("repeated query parameter", {name: ["give it once"]})
            args[name] = values[0]
        return args

    def handle_error(self, error: ValidationError, req, schema, *, error_status_code, error_headers):
        # webargs has put the messages under the location's name; one parse reads one location.
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            (messages,) = messages.values()
        raise ValidationError(messages)


def check_before_refusing(check: Callable[..., None]):
    """Run `check(**view_args)` before answering a refused argument (put it above `@blp.arguments`):
    a check that raises (a 403, say) is the answer instead, so the refusal tells nothing to whom
    the check turns away."""

    def decorator(view):
        @wraps(view)
        def checked(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except ArgumentsRefused:
                check(**kwargs)
                raise

        return checked

    return decorator
