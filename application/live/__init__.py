"""Use cases of the live-questions context."""
