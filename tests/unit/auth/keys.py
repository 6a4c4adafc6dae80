"""Signing keys for the auth tests, generated once per test process (RSA generation is the slow part)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SECRET = "development-secret-of-at-least-32-bytes!"


@functools.cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key(name: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class KeyFiles:
    """PEM files of the identity provider's key (RSA and EC), AlgoREA's backend key, and a stranger's key."""

    idp_private: str
    idp_public: str
    ec_private: str
    ec_public: str
    algorea_private: str
    algorea_public: str
    other_public: str

    @classmethod
    def write(cls, folder: Path) -> KeyFiles:
        def put(name: str, data: bytes) -> str:
            path = folder / name
            path.write_bytes(data)
            return str(path)

        return cls(
            idp_private=put("idp.pem", private_pem(rsa_key("idp"))),
            idp_public=put("idp.pub.pem", public_pem(rsa_key("idp"))),
            ec_private=put("ec.pem", private_pem(ec_key("idp"))),
            ec_public=put("ec.pub.pem", public_pem(ec_key("idp"))),
            algorea_private=put("algorea.pem", private_pem(rsa_key("algorea"))),
            algorea_public=put("algorea.pub.pem", public_pem(rsa_key("algorea"))),
            other_public=put("other.pub.pem", public_pem(rsa_key("other"))),
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict, claims: dict, hmac_key: bytes | None = None) -> str:
    """A token pyjwt would refuse to produce: `alg: none`, or HMAC keyed with a public key's PEM."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[header["alg"]]
    return signing_input + "." + _b64(hmac.new(hmac_key, signing_input.encode(), digest).digest())


def tamper(token: str) -> str:
    """Flip one byte of the signature, keeping it valid base64url."""
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{_b64(bytes(raw))}"
