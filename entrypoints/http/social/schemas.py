"""Bodies and query strings of /social, and the flask-smorest blueprint class that loads them.

Arguments are loaded by webargs through flask-smorest; a refusal becomes a marshmallow
ValidationError, which entrypoints/http/errors.py answers with the envelope (400, field details).
"""

from __future__ import annotations

import flask_smorest
from flask import request
from marshmallow import ValidationError, fields, validate
from webargs.flaskparser import FlaskParser

from domain.shared import InvalidRequest
from domain.social.model import MAX_ABOUT_CHARS, MAX_IMAGE_URL_CHARS, MAX_NAME_CHARS, MAX_POST_CHARS
from entrypoints.http.errors import UnsupportedMediaType
from entrypoints.http.schemas import StrictSchema

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Text bounds are the domain's (422, like a blank post); the 64 KiB body cap (413) bounds the rest.


class EnvelopeParser(FlaskParser):
    """webargs' parser, refusing with our error envelope instead of flask-smorest's 422."""

    DEFAULT_VALIDATION_STATUS = 400
    # The schemas' own `unknown = RAISE` everywhere: an unknown query parameter is a 400, as in /forum.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in ("json", "query"):
            messages = next(iter(messages.values()))  # keyed by field, not by where it came from
        raise ValidationError(messages)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise InvalidRequest("malformed JSON body", {"body": ["is not valid JSON"]})

    def load_json(self, req, schema):
        if req.get_data(cache=True) and not req.is_json:
            raise UnsupportedMediaType("request body must be JSON", {"Content-Type": ["use application/json"]})
        try:
            return super().load_json(req, schema)
        except RecursionError:
            raise _too_deep() from None

    def load_querystring(self, req, schema):
        for name in req.args:
            if len(req.args.getlist(name)) > 1:
                raise InvalidRequest("repeated query parameter", {name: ["give it once"]})
        return super().load_querystring(req, schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = EnvelopeParser()


def json_object_body() -> None:
    """A body, when present, must be a JSON object (webargs would pass a list to the schema)."""
    if request.is_json and request.get_data(cache=True):
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            raise _too_deep() from None
        if data is not None and not isinstance(data, dict):
            raise InvalidRequest("JSON body must be an object", {"body": ["must be a JSON object"]})


def _too_deep() -> InvalidRequest:
    # Nesting deep enough to exhaust the JSON parser is malformed input, never a 500.
    return InvalidRequest("malformed JSON body", {"body": ["is nested too deeply"]})


class ProfileBody(StrictSchema):
    name = fields.String(required=True, metadata={"description": f"1..{MAX_NAME_CHARS} characters"})
    about = fields.String(load_default="", metadata={"description": f"up to {MAX_ABOUT_CHARS} characters"})
    image_url = fields.String(
        allow_none=True, load_default=None,
        metadata={"description": f"an absolute http(s) URL, up to {MAX_IMAGE_URL_CHARS} characters"},
    )


class PostBody(StrictSchema):
    content = fields.String(required=True, metadata={"description": f"1..{MAX_POST_CHARS} characters after trimming"})
    image_url = fields.String(allow_none=True, load_default=None,
                              metadata={"description": "an absolute http(s) URL"})


class UsersPageQuery(StrictSchema):
    after = fields.String(metadata={"description": "the `cursor` of the last user of the previous page"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class PostsPageQuery(StrictSchema):
    before = fields.String(metadata={"description": "the `cursor` of the last post of the previous page"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
