"""HTTP endpoints of the dm context, under /dm."""

from entrypoints.http.dm.routes import bp

__all__ = ["bp"]
