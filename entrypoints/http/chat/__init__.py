"""The /chat blueprint (flask-smorest): rooms, membership and comments (DESIGN.md §2.2)."""

from entrypoints.http.chat.views import blp

__all__ = ["blp"]
