"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, jsonify

from container import Container, settings_from_env
from entrypoints.http import forum
from entrypoints.http.errors import register_error_handlers

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Mapping[str, str] | None = None, container: Container | None = None) -> Flask:
    container = container or Container()
    container.config.from_dict(dict(settings) if settings is not None else settings_from_env())
    container.wire()

    app = Flask("parley")
    app.container = container
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    register_error_handlers(app)
    app.register_blueprint(forum.bp)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app
