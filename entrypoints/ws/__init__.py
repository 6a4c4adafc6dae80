"""Websocket entrypoint: live events (DESIGN.md §4.2) on Parley's lean server socket.

`sock.route("/ws")` registers a view that gets an `entrypoints.ws.server.ServerSocket`, as
flask-sock's `Sock.route` did with simple-websocket's (entrypoints/ws/server.py says why it was
replaced). The routes live on a blueprint still named `__flask_sock`, the name the rate limits and
the OpenAPI document recognise websocket endpoints by.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

BLUEPRINT = "__flask_sock"


class _AfterWebsocket(Response):
    """What the view returns once its socket is done: nothing more may be written to the client."""

    def __call__(self, environ, start_response):
        if environ.get("gunicorn.socket") is not None:
            # gunicorn writes no response for a request whose app raises StopIteration; it closes the socket.
            raise StopIteration()
        return super().__call__(environ, start_response)  # the development server (endpoint.py shuts it)


class Sock:
    def __init__(self) -> None:
        self.bp = Blueprint(BLUEPRINT, __name__)

    def init_app(self, app: Flask) -> None:
        app.register_blueprint(self.bp)

    def route(self, path: str, bp: Blueprint | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """As flask-sock's: the view on this object's blueprint, or on `bp` (AlgoREA's socket)."""
        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def websocket_view(*args: Any, **kwargs: Any) -> Response:
                from entrypoints.ws.server import ConnectionClosed, ServerSocket

                options = current_app.config.get("SOCK_SERVER_OPTIONS", {})
                ws = ServerSocket(request.environ, options.get("ping_interval"), options.get("max_message_size"))
                try:
                    view(ws, *args, **kwargs)
                except ConnectionClosed:
                    pass
                if ws.connected and not ws.detached:
                    ws.close()
                return _AfterWebsocket()

            (bp or self.bp).route(path, websocket=True)(websocket_view)
            return view

        return decorator


sock = Sock()
