"""Forum use cases and ports."""
