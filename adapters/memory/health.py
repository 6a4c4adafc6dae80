"""Readiness of the in-memory adapters: they live in the process, so they are up when it is."""

from __future__ import annotations


class AlwaysReady:
    def __init__(self, name: str = "memory"):
        self.name = name

    def check(self) -> None:
        return None
