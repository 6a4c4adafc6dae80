"""flask-smorest's argument parser (webargs), answering in the project's error envelope.

Bodies follow the rules of entrypoints/http/common.py: a body that is not JSON is a 415, malformed
JSON or a non-object a 400; an empty body counts as `{}` (every field of these bodies is optional).
A repeated query parameter is a 400. Validation errors are 400 with `field: [why]` details.
"""

from __future__ import annotations

from typing import Any, NoReturn

from webargs.flaskparser import FlaskParser

from domain.shared import InvalidRequest
from entrypoints.http.errors import UnsupportedMediaType


class EnvelopeParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req, schema) -> Any:
        if not req.get_data(cache=True):
            return {}
        if not req.is_json:
            raise UnsupportedMediaType("request body must be JSON", {"Content-Type": ["use application/json"]})
        try:
            data = req.get_json(silent=True)
        except RecursionError:
            data = None
        if data is None:
            raise InvalidRequest("malformed JSON body", {"body": ["is not valid JSON"]})
        if not isinstance(data, dict):
            raise InvalidRequest("JSON body must be an object", {"body": ["must be a JSON object"]})
        return data

    def load_querystring(self, req, schema) -> Any:
        args = {}
        for name in req.args:
            values = req.args.getlist(name)
            if len(values) > 1:
                raise InvalidRequest("repeated query parameter", {name: ["give it once"]})
            args[name] = values[0]
        return args

    def handle_error(self, error, req, schema, *, error_status_code, error_headers) -> NoReturn:
        messages = error.messages
        # webargs nests messages under the location (`json`, `query`): clients get `field: [why]`.
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in ("json", "query"):
            messages = next(iter(messages.values()))
        raise InvalidRequest("invalid input", _flatten(messages))


def _flatten(messages: Any) -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {"body": [str(m) for m in (messages if isinstance(messages, list) else [messages])]}
    flat: dict[str, list[str]] = {}
    for name, value in messages.items():
        if isinstance(value, dict):
            for sub, whys in _flatten(value).items():
                flat[f"{name}.{sub}"] = whys
        else:
            flat[str(name)] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return flat
