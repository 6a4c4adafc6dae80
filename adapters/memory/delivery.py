"""In-memory notification and subscription stores of delivery (fakes, and the memory profile)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from application.delivery.notifications import Notification
from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import Topic


class MemoryNotificationStore:
    def __init__(self) -> None:
        self._by_user: dict[int, dict[str, Notification]] = {}
        self._lock = threading.Lock()

    def add(self, notifications: list[Notification]) -> None:
        with self._lock:
            for n in notifications:
                self._by_user.setdefault(n.user_id, {})[n.id] = n

    def page(self, user_id: int, before_id: str | None, limit: int) -> list[Notification]:
        with self._lock:
            ids = sorted(self._by_user.get(user_id, {}), reverse=True)
            if before_id is not None:
                ids = [i for i in ids if i < before_id]
            return [self._by_user[user_id][i] for i in ids[:limit]]

    def delete(self, user_id: int, notification_id: str) -> bool:
        with self._lock:
            return self._by_user.get(user_id, {}).pop(notification_id, None) is not None

    def mark_read(self, user_id: int, notification_id: str) -> bool:
        with self._lock:
            mine = self._by_user.get(user_id, {})
            if notification_id not in mine:
                return False
            mine[notification_id] = replace(mine[notification_id], read=True)
            return True


class MemorySubscriptionStore:
    def __init__(self) -> None:
        self._by_topic: dict[Topic, dict[str, TopicSubscription]] = {}
        self._lock = threading.Lock()

    def put(self, subscription: TopicSubscription) -> None:
        with self._lock:
            self._by_topic.setdefault(subscription.topic, {})[subscription.connection_id] = subscription

    def delete(self, topic: Topic, connection_id: str) -> None:
        with self._lock:
            rows = self._by_topic.get(topic, {})
            rows.pop(connection_id, None)
            if not rows:
                self._by_topic.pop(topic, None)

    def of_topic(self, topic: Topic, now: datetime) -> list[TopicSubscription]:
        with self._lock:
            return [s for s in self._by_topic.get(topic, {}).values() if s.expires_at > now]
