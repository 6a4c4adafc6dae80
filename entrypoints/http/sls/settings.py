"""Where AlgoREA's serverless surface is mounted: PARLEY_ALGOREA_SLS_PREFIX (the HTTP API, `/sls`)
and PARLEY_ALGOREA_WS_PATH (its websocket, `/sls/ws`), as AlgoREA's front end has them in its
`slsApiUrl` and `slsWsUrl`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from container import DEFAULT_ALGOREA_BACKEND_PREFIX, RESERVED_PREFIXES

DEFAULT_PREFIX = "/sls"
DEFAULT_WS_PATH = "/sls/ws"
# Parley's own API, the web client and the AlgoREA backend surface's default: the serverless
# surface is never mounted over them (one list, kept beside the backend surface's in container.py).
TAKEN_PREFIXES = tuple(p for p in RESERVED_PREFIXES if p != DEFAULT_PREFIX) + (DEFAULT_ALGOREA_BACKEND_PREFIX,)
_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


@dataclass(frozen=True)
class ServerlessSettings:
    prefix: str = DEFAULT_PREFIX
    ws_path: str = DEFAULT_WS_PATH

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ServerlessSettings:
        prefix = _path(settings.get("algorea_sls_prefix"), DEFAULT_PREFIX, "PARLEY_ALGOREA_SLS_PREFIX")
        ws_path = _path(settings.get("algorea_ws_path"), DEFAULT_WS_PATH, "PARLEY_ALGOREA_WS_PATH")
        if ws_path in (prefix + "/forum", prefix + "/notifications") or ws_path.startswith(
            (prefix + "/forum/", prefix + "/notifications/")
        ):
            raise ValueError("PARLEY_ALGOREA_WS_PATH must not be inside the serverless API's own paths")
        return cls(prefix, ws_path)


def _path(raw: str | None, default: str, setting: str) -> str:
    value = default if not raw else raw.rstrip("/")
    if not _PATH.fullmatch(value):
        raise ValueError(f"{setting} must be a path like {default}, not {raw!r}")
    clash = [p for p in TAKEN_PREFIXES if value == p or value.startswith(p + "/")]
    if clash:
        raise ValueError(f"{setting} must not be under {clash[0]}, where Parley's own API is")
    return value
