"""The OpenAPI 3 document at /openapi.json and the interactive docs at /docs.

The document comes from the views: flask-smorest collects each blueprint's `@bp.arguments`,
`@bp.response` and docstrings (entrypoints/http/blueprint.py says how a context adds its own), and
`init_api` sets what they share: the error envelope, the security schemes, the id converter. The
websocket routes, which flask-sock registers outside any blueprint, are described here. A route the
document misses is caught by tests/unit/http/test_openapi.py.

The docs page is Swagger UI served from the swagger-ui-bundle package, so it works offline.
"""

from __future__ import annotations

import re
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, send_from_directory
from flask_smorest.spec.plugins import FlaskPlugin

from entrypoints.demo import DEMO_CHAT_ROOM_ID, DEMO_ITEM_ID, DEMO_LIVE_ROOM_ID, DEMO_USERS, LEARNER_GROUP_ID
from entrypoints.http import schemas
from entrypoints.http.algorea import schemas as algorea_schemas
from entrypoints.http.blueprint import Api, error_response_doc
from entrypoints.http.converters import ID_PATTERN, Id64Converter, id64_parameter_schema
from entrypoints.http.sls import openapi as sls_openapi

__all__ = ["ID_PATTERN", "api_for", "documented_rules", "init_api", "openapi_path", "spec_for"]

OPENAPI_VERSION = "3.0.3"
EXTENSION = "parley.openapi"
# Routes that describe the API rather than belong to it.
UNDOCUMENTED_BLUEPRINTS = frozenset({"openapi", "webapp"})
UNDOCUMENTED_ENDPOINTS = frozenset({"static"})
WEBSOCKET_ENDPOINTS = "__flask_sock."
DESCRIPTION = (
    "Discussion threads on a learner's work, with live delivery over websockets. "
    "Ids are positive 64-bit integers written as decimal strings. Writes answer "
    "`{success, message, data}`; errors `{success: false, message, error: {code, details}}`."
)

bp = Blueprint("openapi", __name__)


class PathParametersOnOperations(FlaskPlugin):
    """flask-smorest's Flask plugin, but a route's path parameters are declared on each of its
    operations, as the document always had them, rather than once on the path."""

    def path_helper(self, rule, operations, parameters, **kwargs):
        path = super().path_helper(rule=rule, operations=operations, parameters=parameters, **kwargs)
        for parameter in parameters:
            example = demo_example(rule.rule, parameter.get("name"))
            if parameter.get("in") == "path" and example is not None:
                parameter["example"] = example
        for operation in operations.values():
            operation["parameters"] = [*parameters, *operation.get("parameters", [])]
        parameters.clear()
        return path


def demo_example(rule: str, name: str | None) -> str | None:
    """The demo's ids (entrypoints/demo.py) as the path parameters' examples, so that "Try it out"
    in /docs reaches the README's thread and rooms with a token from `scripts/token --user 1`."""
    if name == "room_id":
        return DEMO_LIVE_ROOM_ID if rule.startswith("/live") else DEMO_CHAT_ROOM_ID
    return DEMO_PATH_EXAMPLES.get(name or "")


DEMO_PATH_EXAMPLES = {
    "item_id": str(DEMO_ITEM_ID),
    "participant_id": str(LEARNER_GROUP_ID),
    "user_id": str(DEMO_USERS[0].user_id),
}


def init_api(app: Flask) -> Api:
    """The app's flask-smorest Api, with `<id64:…>` routes; register blueprints with it."""
    app.url_map.converters["id64"] = Id64Converter
    marshmallow = MarshmallowPlugin(schema_name_resolver=_schema_name)
    api = Api(
        app,
        spec_kwargs={
            "title": "Parley",
            "version": "0.1.0",
            "openapi_version": OPENAPI_VERSION,
            "info": {"description": DESCRIPTION},
            "flask_plugin": PathParametersOnOperations(),
            "marshmallow_plugin": marshmallow,
        },
    )
    api.register_converter(Id64Converter, id64_parameter_schema)
    marshmallow.converter.add_attribute_function(_id_pattern)
    marshmallow.converter.add_attribute_function(_flag_values)
    api.spec.components.schema("ErrorEnvelope", schema=schemas.ErrorEnvelope)
    api.spec.components.schema("AlgoreaError", schema=algorea_schemas.AlgoreaError)
    api.spec.components.security_scheme(
        "algoreaEvents",
        {"type": "http", "scheme": "bearer", "description": "PARLEY_ALGOREA_EVENTS_TOKEN, the event sender's secret"},
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.spec.components.security_scheme(
        "devUser",
        {"type": "apiKey", "in": "header", "name": "X-Parley-User",
         "description": "development profile only: the acting user's id"},
    )
    app.extensions[EXTENSION + ".api"] = api
    return api


def api_for(app: Flask) -> Api:
    return app.extensions[EXTENSION + ".api"]


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def _id_pattern(self, field_obj, **kwargs) -> dict:
    return {"pattern": ID_PATTERN} if isinstance(field_obj, schemas.Id) else {}


def _flag_values(self, field_obj, **kwargs) -> dict:
    return {"enum": ["0", "1", "false", "true"]} if isinstance(field_obj, schemas.Flag) else {}


def documented_rules(app: Flask):
    """The routes the document must describe, with their methods (HEAD and OPTIONS are implicit)."""
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if rule.endpoint in UNDOCUMENTED_ENDPOINTS or blueprint in UNDOCUMENTED_BLUEPRINTS:
            continue
        yield rule, sorted(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _websocket_operation(endpoint: str) -> dict[str, Any]:
    return {
        "operationId": endpoint.replace(WEBSOCKET_ENDPOINTS, "ws_"),
        "summary": "Websocket for live events (upgrade only)",
        "description": "Open with a websocket client: the JWT comes as `?token=` or in a first `auth` frame. "
        "A plain HTTP request, without the upgrade, is answered 426 with the upgrade hint; a malformed "
        "upgrade 400; a server that is stopping (SIGTERM) 503 with Retry-After, and it closes open sockets "
        "with 1012 (reconnect with your last cursor).",
        "tags": ["live"],
        "security": [],
        "responses": {"101": {"description": "Switching to the websocket protocol"}, "400": error_response_doc(400),
                      "426": error_response_doc(426), "503": error_response_doc(503)},
    }


def build_spec(app: Flask) -> dict[str, Any]:
    api = api_for(app)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(WEBSOCKET_ENDPOINTS):
            api.spec.path(rule=rule, operations={"get": _websocket_operation(rule.endpoint)})
    sls_openapi.document(api.spec, app)
    return api.spec.to_dict()


def spec_for(app: Flask) -> dict[str, Any]:
    """Built at the first request: flask-sock registers its routes after the blueprints."""
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = build_spec(app)
    return app.extensions[EXTENSION]


# --- serving it ------------------------------------------------------------------------------

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
  </script>
</body>
</html>
"""


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(spec_for(current_app))


@bp.get("/docs")
def docs():
    return DOCS_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str):
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, filename, max_age=86400)
