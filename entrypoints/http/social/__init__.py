"""The /social blueprint (issue 17): profiles, follows, posts, likes and the timeline."""

from entrypoints.http.social.views import bp

__all__ = ["bp"]
