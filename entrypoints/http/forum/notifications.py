"""A user's notifications: stored for the threads they follow while they were not watching live."""

from __future__ import annotations

from flask import g

from application.forum import notifications
from entrypoints.http.common import deleted, updated
from entrypoints.http.forum import schemas
from entrypoints.http.forum.blueprint import bp, forum_deps


@bp.get("/notifications")
@bp.arguments(schemas.NotificationsQuery, location="query")
@bp.response(200, schemas.Notification(many=True))
def list_notifications(query: dict):
    """The user's notifications, newest first"""
    found = notifications.list_notifications(forum_deps().notifications, g.actor, query.get("before"), query["limit"])
    return [n.to_public() for n in found]


@bp.delete("/notifications/<notification_id>")
@bp.response(200, schemas.NotificationReply)
@bp.errors(404)
def delete_notification(notification_id: str):
    """Delete a notification"""
    notifications.delete_notification(forum_deps().notifications, g.actor, notification_id)
    return deleted({"id": notification_id})


@bp.put("/notifications/<notification_id>/read")
@bp.response(200, schemas.NotificationReply)
@bp.errors(404)
def mark_notification_read(notification_id: str):
    """Mark a notification read"""
    notifications.mark_notification_read(forum_deps().notifications, g.actor, notification_id)
    return updated({"id": notification_id, "read": True})
