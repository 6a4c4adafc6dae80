"""HTTP endpoints of the dm context, under /dm."""

from entrypoints.http.dm.views import bp

__all__ = ["bp"]
