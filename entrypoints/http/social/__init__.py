"""The social context's HTTP API under /social (issue 17): profiles, follows, posts, likes and the
timeline. views.py: the blueprint and its views; schemas.py: what they read and answer."""

from entrypoints.http.social.views import bp

__all__ = ["bp"]
