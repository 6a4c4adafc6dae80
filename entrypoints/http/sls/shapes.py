"""AlgoREA serverless shapes of the forum's public events and notifications (docs/algorea.md).

Everything here renders what Parley's use cases return: a public event (`StoredEvent.to_public()`,
or a publication's `event`) or a public notification (`Notification.to_public()`). Times are epoch
milliseconds, ids decimal strings, names camelCase, as AlgoREA's serverless and front end have them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.forum.notifications import MESSAGE_NOTIFICATION
from application.forum.subscribing import epoch_ms

NEW_MESSAGE = "forum.message.new"
NEW_SUBMISSION = "forum.submission.new"
GRADE_UPDATE = "forum.grade.update"
NEW_NOTIFICATION = "notification.new"
NEW_MESSAGE_NOTIFICATION = "forum.new_message"
# A notification id starts with its creation time in ms (application/delivery/notifications.py):
# AlgoREA's `sk` is that time.
SK_DIGITS = 13


def time_ms(public_time: str) -> int:
    return epoch_ms(datetime.fromisoformat(public_time))


def message_entry(event: dict[str, Any]) -> dict[str, Any] | None:
    """An entry of GET …/messages; None for a deleted message (AlgoREA has no deletion to show)."""
    if event.get("deleted") or event.get("text") is None:
        return None
    return {"time": time_ms(event["time"]), "authorId": event["user_id"], "text": event["text"],
            "uuid": event["uuid"]}


def push_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The websocket push for a thread event, None for the kinds AlgoREA's front end has no push for
    (status changes, edits, deletions, started attempts: it reads those from the backend)."""
    kind = event.get("type")
    thread = {"participantId": event["participant_id"], "itemId": event["item_id"]}
    if kind == "message":
        entry = message_entry(event)
        return None if entry is None else {"action": NEW_MESSAGE, **thread, **entry}
    answer = {"answerId": event.get("answer_id"), **thread, "attemptId": event.get("attempt_id")}
    if kind == "submission":
        # Parley's submissions name no author: the participant submitted, unless the sender said who.
        author = event.get("author_id") or event.get("user_id") or event["participant_id"]
        return {"action": NEW_SUBMISSION, **answer, "authorId": author, "time": time_ms(event["time"])}
    if kind == "grade_updated":
        grade = {"action": GRADE_UPDATE, **answer, "score": event.get("score"),
                 "validated": bool(event.get("validated", False)), "time": time_ms(event["time"])}
        if "score_improved" in event:
            grade["scoreImproved"] = bool(event["score_improved"])
        return grade
    return None


def sk_of(notification_id: str) -> int:
    return int(notification_id[:SK_DIGITS])


def notification_of(public: dict[str, Any]) -> dict[str, Any] | None:
    """A stored notification as AlgoREA lists it (None: a kind it has no shape for)."""
    if public.get("type") != MESSAGE_NOTIFICATION:
        return None
    event = public["event"]
    entry = message_entry(event)
    if entry is None:
        return None
    payload = {"participantId": public["participant_id"], "itemId": public["item_id"], "time": entry["time"],
               "text": entry["text"], "authorId": entry["authorId"], "uuid": entry["uuid"]}
    shaped = {"sk": sk_of(public["id"]), "notificationType": NEW_MESSAGE_NOTIFICATION, "payload": payload}
    if public.get("read"):
        # Parley keeps whether a notification was read, not when: its creation time stands for it.
        shaped["readTime"] = shaped["sk"]
    return shaped
