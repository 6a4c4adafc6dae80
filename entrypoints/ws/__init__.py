"""Websocket entrypoint (flask-sock): live thread events, DESIGN.md §4.2."""

from flask_sock import Sock

sock = Sock()
