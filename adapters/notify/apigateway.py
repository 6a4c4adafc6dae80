"""Live delivery through an API Gateway websocket API (the serverless deployment of AlgoREA's forum).

API Gateway holds the sockets; Parley only knows connection ids, kept in the subscription store
by the `$connect`/subscribe handlers. Publishing posts the encoded frame to each subscribed
connection with the Management API. A connection that has gone (`GoneException`) is removed from
the store, so a dead client's subscription does not outlive it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from application.delivery.subscriptions import SubscriptionStore
from application.delivery.topics import Topic
from application.shared import Publication

log = logging.getLogger(__name__)

MANAGEMENT_CONFIG = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})


def management_client(endpoint_url: str, region: str):
    """`endpoint_url` is the API's https://{api-id}.execute-api.{region}.amazonaws.com/{stage}."""
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint_url, region_name=region, config=MANAGEMENT_CONFIG
    )


class ApiGatewayNotifier:
    def __init__(self, client, subscriptions: SubscriptionStore, clock: Callable[[], datetime]):
        self._client = client
        self._subscriptions = subscriptions
        self._now = clock

    def publish(self, publications: list[Publication]) -> None:
        for publication in publications:
            data = publication.frame().encode()
            for subscription in self._subscriptions.of_topic(Topic.parse(publication.topic), self._now()):
                self._post(subscription.topic, subscription.connection_id, data)

    def _post(self, topic: Topic, connection_id: str, data: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "GoneException":
                self._subscriptions.delete(topic, connection_id)
                return
            # One failing connection must not keep the others from their events; they resume by cursor.
            log.warning("post_to_connection failed for one connection: %s", err.response.get("Error", {}).get("Code"))
