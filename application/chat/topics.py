"""The chat context's live-delivery topic: one per room, `chat.room.<room id>`."""

from __future__ import annotations

from application.delivery.topics import Topic
from application.shared import Publication
from domain.chat import events
from domain.chat.events import ChatEvent

ROOM_TOPIC_FAMILY = "chat.room"


def room_topic(room_id: str) -> Topic:
    # Topic parts may not contain dots and room ids may; `%` is never in a room id, so this is reversible.
    return Topic("chat", "room", (room_id.replace(".", "%2E"),))


def room_id_of_topic(topic: Topic) -> str:
    return topic.key[0].replace("%2E", ".")


def publication(room_id: str, event: ChatEvent) -> Publication:
    return Publication(
        room_topic(room_id).name, {"topic": ROOM_TOPIC_FAMILY, "room_id": room_id, "event": events.to_public(event)}
    )
