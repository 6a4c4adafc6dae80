"""INSECURE development identity: trusts an `X-Parley-User` header. Enabled only by PARLEY_AUTH=dev."""

from __future__ import annotations

from collections.abc import Mapping

from application.shared import Actor, Unauthenticated
from domain.shared import DomainError, parse_id

USER_HEADER = "X-Parley-User"
SCOPES_HEADER = "X-Parley-Scopes"


class DevHeaderAuthenticator:
    def authenticate(self, headers: Mapping[str, str]) -> Actor:
        raw = headers.get(USER_HEADER)
        scopes = frozenset(s for s in (headers.get(SCOPES_HEADER) or "").replace(",", " ").split() if s)
        if raw is None:
            if scopes:
                return Actor(None, scopes)
            raise Unauthenticated(f"missing {USER_HEADER} header (development authentication)")
        try:
            return Actor(parse_id(raw, USER_HEADER), scopes)
        except DomainError:
            raise Unauthenticated(f"{USER_HEADER} must be a positive 64-bit integer") from None
