"""The chat context's HTTP API under /chat: rooms, membership and comments (DESIGN.md §2.2).

views.py: the endpoints; schemas.py: what they read and answer. Registered in app.py with
`api.register_blueprint(chat.bp)`.
"""

from entrypoints.http.chat.views import bp

__all__ = ["bp"]
