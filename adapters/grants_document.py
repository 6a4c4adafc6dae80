"""The grants document (`parley grants import FILE`, the memory adapter's tables): its schema.

```json
{"memberships":      [{"group_id": "5", "member_id": "2"}],
 "item_permissions": [{"group_id": "2", "item_id": "100", "can_view": "content",
                       "can_watch": "answer", "can_request_help_to": ["5"]}],
 "managers":         [{"manager_group_id": "3", "group_id": "1"}],
 "validated":        [{"user_id": "2", "item_id": "100"}]}
```

Ids are positive 64-bit integers, as JSON numbers or decimal strings. Every key is optional;
an unknown key, a wrong type or an unknown level word is refused with a message naming the field,
and then nothing is imported.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from domain.forum.policy import ViewLevel, WatchLevel
from domain.shared import MAX_ID

VIEW_LEVELS = tuple(level.name.lower() for level in ViewLevel)
WATCH_LEVELS = tuple(level.name.lower() for level in WatchLevel)


class InvalidGrantsDocument(ValueError):
    def __init__(self, messages: dict[str, Any]):
        super().__init__(_flatten(messages))
        self.messages = messages


class _Id(fields.Field):
    """A positive 64-bit id: 7 or "7" (not 7.0, not true, not "07x")."""

    default_error_messages = {"invalid": f"must be a positive integer up to {MAX_ID}, as a number or a decimal string"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            value = int(value)
        if not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise self.make_error("invalid")
        return value


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Membership(_Strict):
    group_id = _Id(required=True)
    member_id = _Id(required=True)


class _ItemPermission(_Strict):
    group_id = _Id(required=True)
    item_id = _Id(required=True)
    can_view = fields.String(load_default="none", validate=validate.OneOf(VIEW_LEVELS))
    can_watch = fields.String(load_default="none", validate=validate.OneOf(WATCH_LEVELS))
    can_request_help_to = fields.List(_Id(), load_default=list)


class _Manager(_Strict):
    manager_group_id = _Id(required=True)
    group_id = _Id(required=True)


class _Validated(_Strict):
    user_id = _Id(required=True)
    item_id = _Id(required=True)


class GrantsDocumentSchema(_Strict):
    memberships = fields.List(fields.Nested(_Membership), load_default=list)
    item_permissions = fields.List(fields.Nested(_ItemPermission), load_default=list)
    managers = fields.List(fields.Nested(_Manager), load_default=list)
    validated = fields.List(fields.Nested(_Validated), load_default=list)


def parse_grants_document(doc: Any) -> dict[str, list[dict[str, Any]]]:
    """The document with ids as ints and levels as enum members; InvalidGrantsDocument otherwise."""
    if not isinstance(doc, dict):
        raise InvalidGrantsDocument({"_schema": ["the document must be a JSON object"]})
    try:
        parsed = GrantsDocumentSchema().load(doc)
    except ValidationError as err:
        raise InvalidGrantsDocument(err.messages) from None
    for row in parsed["item_permissions"]:
        row["can_view"] = ViewLevel[row["can_view"].upper()]
        row["can_watch"] = WatchLevel[row["can_watch"].upper()]
    return parsed


def _flatten(messages: Any, path: str = "") -> str:
    """{"item_permissions": {0: {"can_view": ["…"]}}} as "item_permissions[0].can_view: …"."""
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            if key == "_schema":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            parts.append(_flatten(value, sub))
        return "; ".join(parts)
    if isinstance(messages, list):
        return f"{path or 'document'}: " + " ".join(str(m) for m in messages)
    return f"{path or 'document'}: {messages}"
