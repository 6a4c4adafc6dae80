"""Choosing the authenticator from PARLEY_* settings, refusing unsafe ones, and `parley token`."""

from __future__ import annotations

import os

import jwt
import pytest

from adapters.auth.jwt import AuthConfigurationError
from container import InsecureConfiguration, resolve_settings, settings_from_env
from entrypoints.cli.main import main
from entrypoints.http.app import create_app
from tests.unit.auth.keys import SECRET, KeyFiles, rsa_key

THREAD = "/forum/items/100/participant/5/thread"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


@pytest.mark.parametrize("profile", ["postgres", "algorea", "aws"])
def test_the_development_header_is_refused_where_real_data_lives(profile, monkeypatch):
    with pytest.raises(InsecureConfiguration, match="PARLEY_AUTH=dev"):
        create_app({"profile": profile, "auth": "dev"})
    monkeypatch.setenv("PARLEY_PROFILE", profile)
    monkeypatch.setenv("PARLEY_AUTH", "dev")
    with pytest.raises(InsecureConfiguration):
        settings_from_env()


def test_defaults_dev_header_only_for_the_memory_profile_without_a_key():
    assert resolve_settings({"profile": "memory"})["auth"] == "dev"
    for profile in ("embedded", "postgres", "algorea", "aws"):
        assert resolve_settings({"profile": profile})["auth"] == "jwt"
    assert resolve_settings({"profile": "embedded", "auth": "dev"})["auth"] == "dev"
    assert resolve_settings({"profile": "memory", "jwt_secret": SECRET})["auth"] == "jwt"
    with pytest.raises(ValueError, match="PARLEY_AUTH"):
        resolve_settings({"auth": "header"})


def test_the_memory_profile_keeps_the_x_parley_user_header_and_renders_no_token():
    client = create_app({"profile": "memory", "auth": "dev"}).test_client()
    response = client.get(THREAD, headers={"X-Parley-User": "5"})
    assert response.status_code == 200 and response.get_json()["token"] is None
    refused = client.get(THREAD)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "settings, error",
    [
        ({"auth": "jwt"}, "needs a verification key"),
        ({"auth": "jwt", "jwt_public_key_file": "/nonexistent.pem"}, "cannot read"),
        ({"auth": "jwt", "jwt_secret": SECRET, "jwt_private_key_file": "/nonexistent.pem"}, "cannot read"),
        ({"auth": "dev", "grants": "algorea_tokens"}, "PARLEY_ALGOREA_PUBLIC_KEY_FILE"),
        ({"auth": "dev", "thread_token_private_key_file": "/nonexistent.pem"}, "cannot read"),
    ],
)
def test_a_bad_key_setting_stops_the_start_not_the_first_request(settings, error):
    with pytest.raises(AuthConfigurationError, match=error):
        create_app({"profile": "memory", **settings})


def test_hs256_development_mode_end_to_end(monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_JWT_SECRET", SECRET)
    assert main(["token", "--user", "5", "--ttl", "30m"]) == 0
    token = capsys.readouterr().out.strip()
    client = create_app({"profile": "memory", "auth": "jwt", "jwt_secret": SECRET}).test_client()
    response = client.get(THREAD, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    thread_token = jwt.decode(response.get_json()["token"], SECRET, algorithms=["HS256"])
    assert (thread_token["user_id"], thread_token["is_mine"]) == ("5", True)
    assert client.get(THREAD, headers={"X-Parley-User": "5"}).status_code == 401


def test_parley_token_mints_user_and_service_tokens_with_the_private_key(keys, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_JWT_ALGORITHM", "RS512")
    monkeypatch.setenv("PARLEY_JWT_PUBLIC_KEY_FILE", keys.idp_public)
    monkeypatch.setenv("PARLEY_JWT_PRIVATE_KEY_FILE", keys.idp_private)
    monkeypatch.setenv("PARLEY_JWT_AUDIENCE", "parley")
    assert main(["token", "--scope", "forum:events", "--scope", "forum:grades", "--ttl", "600"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), rsa_key("idp").public_key(), algorithms=["RS512"],
                        audience="parley")
    assert "sub" not in claims and claims["scope"] == "forum:events forum:grades"
    assert claims["exp"] - claims["iat"] == 600
    assert main(["token", "--user", "8"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), rsa_key("idp").public_key(), algorithms=["RS512"],
                        audience="parley")
    assert claims["sub"] == "8" and claims["exp"] - claims["iat"] == 12 * 3600


def test_parley_token_explains_what_is_missing(monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("PARLEY_"):
            monkeypatch.delenv(name)
    assert main(["token", "--user", "8"]) == 2
    assert "PARLEY_JWT_SECRET" in capsys.readouterr().err
    assert main(["token"]) == 2
    with pytest.raises(SystemExit):
        main(["token", "--user", "8", "--ttl", "0"])
