"""The boto3 client every DynamoDB adapter shares, and how its failures reach the application.

Settings are the container's (PARLEY_ prefix, lower-cased): `dynamodb_endpoint_url` (DynamoDB Local
or any compatible endpoint; unset on AWS), `dynamodb_region`, `dynamodb_table_prefix`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from application.shared import BackendUnavailable

DEFAULT_REGION = "eu-west-3"
DEFAULT_TABLE_PREFIX = "parley-"

# A request path must answer, or fail with a 503, within two seconds when DynamoDB is down or hangs
# (docs/operations.md, "Backend outages"): at most two attempts, each bounded by the timeouts below,
# 50 ms apart. The "legacy" retry mode's delay for DynamoDB is fixed (50 ms, doubling; botocore's
# _retry.json) in every botocore version this project allows, while "standard" waited up to a second
# before a retry in older ones. Throttling beyond the retry is a 503 too (UNAVAILABLE_CODES). Worst
# case: 2 x (connect or read timeout) + 0.05 s, checked by tests/integration/test_outage_budgets.py.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 0.75
TOTAL_ATTEMPTS = 2
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "legacy"},
)

# Errors that mean "DynamoDB is not answering right now", not "the request was wrong".
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# Refused, timed out, reset or closed mid-answer: every way the connection itself can fail. The bases,
# so that no variant (SSL, proxy, a dropped connection) escapes as a 500.
NETWORK_ERRORS = (BotocoreConnectionError, HTTPClientError)


@dataclass(frozen=True)
class DynamoDbSettings:
    endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    table_prefix: str = DEFAULT_TABLE_PREFIX

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> DynamoDbSettings:
        settings = settings or {}
        region = settings.get("dynamodb_region") or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION"
        )
        prefix = settings.get("dynamodb_table_prefix")
        return cls(
            endpoint_url=settings.get("dynamodb_endpoint_url") or None,
            region=region or DEFAULT_REGION,
            table_prefix=DEFAULT_TABLE_PREFIX if prefix is None else str(prefix),
        )


# Table management (create-tables, the streams consumer's set-up) is no request path: nobody waits on
# a 503 there, and DynamoDB Local can take seconds to create a table on a busy machine.
ADMIN_CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"total_max_attempts": 5, "mode": "standard"},
)


def make_client(settings: DynamoDbSettings, config: Config = CLIENT_CONFIG):
    """A low-level DynamoDB client; thread-safe, so one per process is enough."""
    kwargs: dict[str, Any] = {"region_name": settings.region, "config": config}
    if settings.endpoint_url:
        kwargs["endpoint_url"] = settings.endpoint_url
        # DynamoDB Local accepts any credentials; real ones may be absent on a laptop.
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            kwargs["aws_access_key_id"] = "local"
            kwargs["aws_secret_access_key"] = "local"
    return boto3.session.Session().client("dynamodb", **kwargs)


T = TypeVar("T")


def call(operation: Callable[..., T], **kwargs: Any) -> T:
    """Run one client operation, turning "DynamoDB is down or overloaded" into BackendUnavailable."""
    try:
        return operation(**kwargs)
    except NETWORK_ERRORS as exc:
        raise BackendUnavailable("dynamodb") from exc
    except ClientError as exc:
        if error_code(exc) in UNAVAILABLE_CODES:
            raise BackendUnavailable("dynamodb") from exc
        raise


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
