"""API Gateway notifier with botocore's Stubber: GoneException is an AWS error no local emulator produces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from adapters.memory.delivery import MemorySubscriptionStore
from adapters.notify.apigateway import ApiGatewayNotifier
from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import Topic
from application.shared import Publication

NOW = datetime(2026, 5, 1, tzinfo=UTC)
TOPIC = Topic.parse("forum.thread.1.100")


@pytest.fixture
def client():
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://example.execute-api.eu-west-3.amazonaws.com/prod",
        region_name="eu-west-3",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def store_with(*connection_ids: str) -> MemorySubscriptionStore:
    store = MemorySubscriptionStore()
    for cid in connection_ids:
        store.put(TopicSubscription(TOPIC, cid, 1, NOW + timedelta(hours=2)))
    return store


def publication() -> Publication:
    return Publication(TOPIC.name, {"topic": "forum.thread", "event": {"cursor": "ZTEuMQ", "type": "message"}})


def test_each_subscribed_connection_gets_the_encoded_frame(client):
    store = store_with("a", "b")
    pub = publication()
    with Stubber(client) as stub:
        for cid in ("a", "b"):
            stub.add_response("post_to_connection", {}, {"ConnectionId": cid, "Data": pub.frame().encode()})
        ApiGatewayNotifier(client, store, lambda: NOW).publish([pub])
        stub.assert_no_pending_responses()


def test_a_gone_connection_loses_its_subscription_and_the_others_still_get_the_event(client):
    store = store_with("gone", "alive")
    with Stubber(client) as stub:
        stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)
        stub.add_response("post_to_connection", {})
        ApiGatewayNotifier(client, store, lambda: NOW).publish([publication()])
        stub.assert_no_pending_responses()
    assert [s.connection_id for s in store.of_topic(TOPIC, NOW)] == ["alive"]


def test_other_errors_keep_the_subscription(client):
    store = store_with("flaky")
    with Stubber(client) as stub:
        stub.add_client_error("post_to_connection", service_error_code="LimitExceededException", http_status_code=429)
        ApiGatewayNotifier(client, store, lambda: NOW).publish([publication()])
    assert [s.connection_id for s in store.of_topic(TOPIC, NOW)] == ["flaky"]


def test_expired_subscriptions_are_not_posted_to(client):
    store = MemorySubscriptionStore()
    store.put(TopicSubscription(TOPIC, "old", 1, NOW - timedelta(seconds=1)))
    with Stubber(client) as stub:
        ApiGatewayNotifier(client, store, lambda: NOW).publish([publication()])
        stub.assert_no_pending_responses()


def test_the_container_wires_it_for_fanout_apigateway():
    from container import Container

    container = Container()
    container.config.from_dict(
        {
            "profile": "memory",
            "fanout": "apigateway",
            "apigateway_endpoint_url": "https://example.execute-api.eu-west-3.amazonaws.com/prod",
        }
    )
    notifier = container.core.notifier()
    assert isinstance(notifier, ApiGatewayNotifier)
    assert notifier._subscriptions is container.core.subscription_store()
