"""The `<id64:name>` URL converter: a path segment that is a positive 64-bit id, handed to views as an int.

A segment that is not such an id must still be a 400 with the error envelope, after the request's
credentials were checked (a request without them is a 401 whatever its path says), as it was when
every view parsed its own ids. A converter runs while Flask matches the route, before any hook,
and cannot name the variable it converts; so it marks a bad segment with `MalformedId` instead of
refusing it, and the hook `refuse_malformed_ids`, which every `entrypoints.http.blueprint.Blueprint`
runs after authenticating, refuses it with the variable's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from werkzeug.routing import BaseConverter

from domain.shared import InvalidRequest, parse_id

# What the document promises for an id: decimal digits, no leading zero (the range is checked too).
ID_PATTERN = r"^[1-9][0-9]{0,18}$"


@dataclass(frozen=True)
class MalformedId:
    """A path segment in an `<id64:…>` place that is no id; never reaches a view."""

    raw: str


class Id64Converter(BaseConverter):
    """Matches any one path segment, as the default converter does, so that a bad id is our 400
    rather than Werkzeug's 404."""

    def to_python(self, value: str) -> int | MalformedId:
        try:
            return parse_id(value)
        except InvalidRequest:
            return MalformedId(value)

    def to_url(self, value: object) -> str:
        return str(value)


def id64_parameter_schema(converter: Id64Converter) -> dict:
    """How flask-smorest documents an `<id64:…>` path parameter."""
    return {"type": "string", "pattern": ID_PATTERN}


def refuse_malformed_ids() -> None:
    """Blueprint hook: a path id that is no positive 64-bit integer is a 400 naming its variable
    (the first one in the path, as the views' own parsing did)."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, MalformedId):
            parse_id(value.raw, name)  # raises InvalidRequest with the message and details of before
            raise InvalidRequest("invalid id", {name: ["must be a positive 64-bit integer"]})
