"""Bearer JWT authentication with pyjwt: the production authenticator, dev-token minting, thread tokens.

Production verifies RS256, RS512 or ES256 signatures with a configured public key (a PEM file, or
a JWKS file whose keys are picked by `kid`); development may use HS256 with a shared secret. The
algorithm is pinned by configuration and a token announcing any other one is refused before its
signature is looked at: that closes `alg: none` and the HS256-signed-with-the-public-key trick.
Times are checked against the injected clock, so tests that move the clock move token expiry too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from application.shared import Actor, Clock, ThreadClaims, Unauthenticated
from domain.shared import DomainError, parse_id

ASYMMETRIC_ALGORITHMS = ("RS256", "RS512", "ES256")
SYMMETRIC_ALGORITHMS = ("HS256",)
ALGORITHMS = ASYMMETRIC_ALGORITHMS + SYMMETRIC_ALGORITHMS
DEFAULT_LEEWAY_SECONDS = 30
# RFC 7518 §3.2: an HS256 key shorter than the hash output weakens the MAC.
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 8192
DEFAULT_DEV_TOKEN_TTL = timedelta(hours=12)
# 9999-12-31T23:59:59Z: the last instant a datetime can hold, so every accepted time converts.
MAX_TIMESTAMP = 253402300799


class AuthConfigurationError(ValueError):
    """The authentication settings cannot work; raised when the app starts, never per request."""


def bearer_token(headers: Mapping[str, str]) -> str:
    raw = headers.get("Authorization")
    if not raw:
        raise Unauthenticated("missing Authorization header (expected: Bearer <token>)")
    scheme, _, token = raw.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the Authorization header must be: Bearer <token>")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("token too long")
    return token


def unverified_algorithm(token: str) -> str | None:
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise Unauthenticated("malformed token") from None


def check_times(claims: Mapping[str, Any], now: datetime, leeway: int) -> datetime:
    """`exp` is required; `nbf` is honoured when present. Both with the configured leeway.

    Returns when the credential expires. JSON lets a signer write NaN or Infinity, which compare
    false with every time (a token that never expires): only finite times within a datetime's range count.
    """
    exp = _timestamp(claims.get("exp"), "token has no valid exp claim")
    stamp = now.timestamp()
    if stamp >= exp + leeway:
        raise Unauthenticated("token has expired")
    nbf = claims.get("nbf")
    if nbf is not None and stamp + leeway < _timestamp(nbf, "token has an invalid nbf claim"):
        raise Unauthenticated("token is not valid yet")
    return datetime.fromtimestamp(exp, UTC)


def _timestamp(value: Any, refusal: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(refusal)
    if not math.isfinite(value) or not 0 <= value <= MAX_TIMESTAMP:
        raise Unauthenticated(refusal)
    return float(value)


def read_file(setting: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise AuthConfigurationError(f"{setting}: cannot read {path!r}: {exc.strerror}") from None


def load_public_key(data: bytes, algorithm: str, setting: str = "PARLEY_JWT_PUBLIC_KEY_FILE"):
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise AuthConfigurationError(f"{setting} is not a PEM public key") from None
    _check_key_kind(key, algorithm, setting)
    return key


def load_private_key(data: bytes, setting: str = "PARLEY_JWT_PRIVATE_KEY_FILE"):
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise AuthConfigurationError(f"{setting} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise AuthConfigurationError(f"{setting} must hold an RSA or EC (P-256) private key")
    return key


def _check_key_kind(key: Any, algorithm: str, setting: str) -> None:
    if algorithm.startswith("RS") and not isinstance(key, rsa.RSAPublicKey):
        raise AuthConfigurationError(f"{setting} must hold an RSA key for {algorithm}")
    if algorithm == "ES256" and not (
        isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        raise AuthConfigurationError(f"{setting} must hold a P-256 EC key for ES256")


def _signing_algorithm(key: Any) -> str:
    """RS512 for RSA keys (AlgoREA signs its tokens so), ES256 for P-256 keys."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS512"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise AuthConfigurationError("signing keys must be RSA or P-256 EC keys")


@dataclass(frozen=True)
class JwtSettings:
    """The JWT part of the configuration, read from the `PARLEY_JWT_*` settings."""

    algorithm: str
    public_key: Any = None
    jwks: Mapping[str | None, Any] | None = None
    secret: bytes | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway: int = DEFAULT_LEEWAY_SECONDS
    private_key: Any = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> JwtSettings:
        def get(name: str) -> str | None:
            value = settings.get(name)
            return str(value).strip() or None if value is not None else None

        public_file, jwks_file, secret = get("jwt_public_key_file"), get("jwt_jwks_file"), get("jwt_secret")
        algorithm = (get("jwt_algorithm") or ("HS256" if secret and not (public_file or jwks_file) else "RS256"))
        algorithm = algorithm.upper()
        if algorithm not in ALGORITHMS:
            raise AuthConfigurationError(f"PARLEY_JWT_ALGORITHM must be one of {', '.join(ALGORITHMS)}")
        try:
            leeway = int(get("jwt_leeway") or DEFAULT_LEEWAY_SECONDS)
        except ValueError:
            raise AuthConfigurationError("PARLEY_JWT_LEEWAY must be a number of seconds") from None
        if not 0 <= leeway <= 300:
            raise AuthConfigurationError("PARLEY_JWT_LEEWAY must be between 0 and 300 seconds")
        private_file = get("jwt_private_key_file")
        private_key = load_private_key(read_file("PARLEY_JWT_PRIVATE_KEY_FILE", private_file)) if private_file else None
        if private_key is not None and algorithm in ASYMMETRIC_ALGORITHMS:
            _check_key_kind(private_key.public_key(), algorithm, "PARLEY_JWT_PRIVATE_KEY_FILE")
        common = dict(issuer=get("jwt_issuer"), audience=get("jwt_audience"), leeway=leeway, private_key=private_key)

        if algorithm in SYMMETRIC_ALGORITHMS:
            if public_file or jwks_file:
                raise AuthConfigurationError(f"{algorithm} takes PARLEY_JWT_SECRET, not a public key or JWKS file")
            if not secret:
                raise AuthConfigurationError(f"PARLEY_JWT_ALGORITHM={algorithm} needs PARLEY_JWT_SECRET")
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise AuthConfigurationError(f"PARLEY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
            return cls(algorithm, secret=secret.encode(), **common)

        if secret:
            raise AuthConfigurationError(f"{algorithm} verifies with a public key: unset PARLEY_JWT_SECRET")
        if not (public_file or jwks_file):
            raise AuthConfigurationError(
                "PARLEY_AUTH=jwt needs a verification key: PARLEY_JWT_PUBLIC_KEY_FILE or PARLEY_JWT_JWKS_FILE "
                "(production), or PARLEY_JWT_SECRET (development, HS256); PARLEY_AUTH=dev is for development only"
            )
        if bool(public_file) == bool(jwks_file):
            raise AuthConfigurationError(
                f"PARLEY_JWT_ALGORITHM={algorithm} needs exactly one of "
                "PARLEY_JWT_PUBLIC_KEY_FILE or PARLEY_JWT_JWKS_FILE"
            )
        if public_file:
            key = load_public_key(read_file("PARLEY_JWT_PUBLIC_KEY_FILE", public_file), algorithm)
            return cls(algorithm, public_key=key, **common)
        return cls(algorithm, jwks=_load_jwks(read_file("PARLEY_JWT_JWKS_FILE", jwks_file), algorithm), **common)

    def signing_key(self) -> tuple[Any, str] | None:
        """What dev tokens are minted with: the secret (HS256) or the private key, with its algorithm."""
        if self.secret is not None:
            return self.secret, self.algorithm
        if self.private_key is not None:
            return self.private_key, self.algorithm
        return None


def _load_jwks(data: bytes, algorithm: str) -> dict[str | None, Any]:
    try:
        doc = json.loads(data)
        entries = doc["keys"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise AuthConfigurationError("PARLEY_JWT_JWKS_FILE is not a JWKS document ({\"keys\": [...]})") from None
    found: dict[str | None, Any] = {}
    for entry in entries:
        # A key declared for another algorithm is skipped, not reused: that is how confusion starts.
        if not isinstance(entry, dict) or entry.get("alg", algorithm) != algorithm:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry, algorithm).key
            _check_key_kind(key, algorithm, "PARLEY_JWT_JWKS_FILE")
        except (jwt.PyJWTError, AuthConfigurationError, ValueError, TypeError):
            continue
        found[entry.get("kid")] = key
    if not found:
        raise AuthConfigurationError(f"PARLEY_JWT_JWKS_FILE has no key usable with {algorithm}")
    return found


class JwtAuthenticator:
    """Authorization: Bearer <jwt> → Actor(user from `sub`, scopes from `scope`)."""

    def __init__(self, settings: JwtSettings, clock: Clock):
        self._s = settings
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], clock: Clock) -> JwtAuthenticator:
        return cls(JwtSettings.from_settings(settings), clock)

    @property
    def algorithm(self) -> str:
        return self._s.algorithm

    def authenticate(self, headers: Mapping[str, str]) -> Actor:
        claims = self.verify(bearer_token(headers))
        return replace(actor_from_claims(claims), expires_at=datetime.fromtimestamp(claims["exp"], UTC))

    def verify(self, token: str) -> dict[str, Any]:
        s = self._s
        if unverified_algorithm(token) != s.algorithm:
            raise Unauthenticated(f"token must be signed with {s.algorithm}")
        key = self._verification_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[s.algorithm],
                issuer=s.issuer,
                audience=s.audience,
                options={
                    "require": ["exp"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_iss": s.issuer is not None,
                    "verify_aud": s.audience is not None,
                },
            )
        except jwt.InvalidAudienceError:
            raise Unauthenticated("token is not meant for this service (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token comes from an unexpected issuer (iss)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the {exc.claim} claim") from None
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token") from None
        check_times(claims, self._clock.now(), s.leeway)
        return claims

    def _verification_key(self, token: str) -> Any:
        s = self._s
        if s.secret is not None:
            return s.secret
        if s.public_key is not None:
            return s.public_key
        assert s.jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None and len(s.jwks) == 1:
            return next(iter(s.jwks.values()))
        if kid not in s.jwks:
            raise Unauthenticated("token signed with an unknown key (kid)")
        return s.jwks[kid]


def actor_from_claims(claims: Mapping[str, Any]) -> Actor:
    """`sub` is the user id as a decimal string; `scope` a space-separated list. A service may have no `sub`."""
    sub = claims.get("sub")
    user_id = None
    if sub is not None:
        if not isinstance(sub, str):
            raise Unauthenticated("the sub claim must be a user id written as a decimal string")
        try:
            user_id = parse_id(sub, "sub")
        except DomainError:
            raise Unauthenticated("the sub claim must be a user id written as a decimal string") from None
    raw_scope = claims.get("scope", "")
    if not isinstance(raw_scope, str):
        raise Unauthenticated("the scope claim must be a space-separated string")
    scopes = frozenset(raw_scope.split())
    if user_id is None and not scopes:
        raise Unauthenticated("token names neither a user (sub) nor scopes")
    return Actor(user_id, scopes)


class DevTokenMinter:
    """Mints development tokens with the configured secret or private key (`parley token`)."""

    def __init__(self, settings: JwtSettings, clock: Clock):
        found = settings.signing_key()
        if found is None:
            raise AuthConfigurationError(
                "minting needs PARLEY_JWT_SECRET (HS256) or PARLEY_JWT_PRIVATE_KEY_FILE (RS256, RS512, ES256)"
            )
        self._key, self._algorithm = found
        self._s = settings
        self._clock = clock

    def mint(
        self, user_id: int | None, scopes: tuple[str, ...] = (), ttl: timedelta = DEFAULT_DEV_TOKEN_TTL
    ) -> str:
        if user_id is None and not scopes:
            raise ValueError("a token needs a user, scopes, or both")
        now = self._clock.now()
        claims: dict[str, Any] = {"iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
        if user_id is not None:
            claims["sub"] = str(user_id)
        if scopes:
            claims["scope"] = " ".join(scopes)
        if self._s.issuer:
            claims["iss"] = self._s.issuer
        if self._s.audience:
            claims["aud"] = self._s.audience
        return jwt.encode(claims, self._key, algorithm=self._algorithm)


def algorea_date(when: datetime) -> str:
    """AlgoREA's `date` claim: dd-mm-yyyy in UTC."""
    return when.astimezone(UTC).strftime("%d-%m-%Y")


class JwtThreadTokenIssuer:
    """Signs thread tokens with AlgoREA's claim names and value formats (ids as decimal strings)."""

    def __init__(self, key: Any, algorithm: str, clock: Clock):
        self._key, self._algorithm, self._clock = key, algorithm, clock

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def verification_key(self) -> Any:
        return self._key if isinstance(self._key, bytes) else self._key.public_key()

    def issue(self, claims: ThreadClaims) -> str | None:
        payload = {
            "item_id": str(claims.item_id),
            "participant_id": str(claims.participant_id),
            "user_id": str(claims.user_id),
            "is_mine": claims.is_mine,
            "can_watch": claims.can_watch,
            "can_write": claims.can_write,
            "exp": int(claims.expires_at.timestamp()),
            "date": algorea_date(self._clock.now()),
        }
        return jwt.encode(payload, self._key, algorithm=self._algorithm)


def thread_token_issuer_from_settings(settings: Mapping[str, Any], clock: Clock):
    """PARLEY_THREAD_TOKEN_PRIVATE_KEY_FILE, else the development signing key; None when neither is set."""
    path = settings.get("thread_token_private_key_file")
    if path:
        key = load_private_key(
            read_file("PARLEY_THREAD_TOKEN_PRIVATE_KEY_FILE", path), "PARLEY_THREAD_TOKEN_PRIVATE_KEY_FILE"
        )
        return JwtThreadTokenIssuer(key, _signing_algorithm(key), clock)
    path = settings.get("jwt_private_key_file")
    if path:
        key = load_private_key(read_file("PARLEY_JWT_PRIVATE_KEY_FILE", path))
        return JwtThreadTokenIssuer(key, _signing_algorithm(key), clock)
    secret = settings.get("jwt_secret")
    if secret:
        if len(str(secret).encode()) < MIN_SECRET_BYTES:
            raise AuthConfigurationError(f"PARLEY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return JwtThreadTokenIssuer(str(secret).encode(), "HS256", clock)
    return None


def public_jwk(key: Any) -> dict[str, Any]:
    """A public key as a JWK (for writing JWKS files in tests and tooling)."""
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        key = key.public_key()
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
    return json.loads(algorithm.to_jwk(key))
