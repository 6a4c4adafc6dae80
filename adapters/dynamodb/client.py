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
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from application.shared import BackendUnavailable

DEFAULT_REGION = "eu-west-3"
DEFAULT_TABLE_PREFIX = "parley-"

# A request path must answer (or fail with a 503) quickly: short timeouts, few retries. botocore's
# "standard" mode retries throttling and transient errors with backoff, within this bound.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=2,
    retries={"max_attempts": 3, "mode": "standard"},
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
NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


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


def make_client(settings: DynamoDbSettings):
    """A low-level DynamoDB client; thread-safe, so one per process is enough."""
    kwargs: dict[str, Any] = {"region_name": settings.region, "config": CLIENT_CONFIG}
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
