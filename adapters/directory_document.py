"""The AlgoREA directory document (`parley directory import FILE`): its schema.

```json
{"items": [{"id": "100", "type": "Task", "title": "Loops", "language_tag": "en"}],
 "users": [{"id": "2", "login": "alice", "first_name": "Alice", "last_name": "Martin",
            "show_personal_info": false}]}
```

Ids are positive 64-bit integers, as JSON numbers or decimal strings (a user's id is their own
group's). Every field but `id` is optional (null: unknown); `show_personal_info` (default false)
lets other users' thread lists show the names, as AlgoREA does once a user approved it. An
unknown key, a wrong type or an id given twice is refused with a message naming the field, and
then nothing is imported.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from adapters.grants_document import _flatten, _Id
from adapters.sql.algorea_tables import NAME_CHARS, TITLE_CHARS
from application.forum.directory import DirectoryItem, DirectoryUser

ITEM_TYPES = ("Chapter", "Task", "Skill")


class InvalidDirectoryDocument(ValueError):
    def __init__(self, messages: dict[str, Any]):
        super().__init__(_flatten(messages))
        self.messages = messages


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _no_control_characters(text: str) -> None:
    # PostgreSQL cannot store NUL, and no title or login has a control character.
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValidationError("must not contain control characters")


def _text(chars: int) -> fields.String:
    return fields.String(
        allow_none=True, load_default=None, validate=[validate.Length(max=chars), _no_control_characters]
    )


class _Item(_Strict):
    id = _Id(required=True)
    type = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(ITEM_TYPES))
    title = _text(TITLE_CHARS)
    language_tag = fields.String(
        allow_none=True, load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9-]{1,16}$", error="a BCP 47 tag")
    )


class _User(_Strict):
    id = _Id(required=True)
    login = _text(NAME_CHARS)
    first_name = _text(NAME_CHARS)
    last_name = _text(NAME_CHARS)
    show_personal_info = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class DirectoryDocumentSchema(_Strict):
    items = fields.List(fields.Nested(_Item), load_default=list)
    users = fields.List(fields.Nested(_User), load_default=list)

    @validates_schema
    def _ids_once(self, data: dict, **kwargs) -> None:
        for name in ("items", "users"):
            seen: set[int] = set()
            for row in data.get(name, []):
                if row["id"] in seen:
                    raise ValidationError({name: [f"id {row['id']} is given twice"]})
                seen.add(row["id"])


def parse_directory_document(doc: Any) -> tuple[list[DirectoryItem], list[DirectoryUser]]:
    """The document's entries; InvalidDirectoryDocument for anything else."""
    if not isinstance(doc, dict):
        raise InvalidDirectoryDocument({"_schema": ["the document must be a JSON object"]})
    try:
        parsed = DirectoryDocumentSchema().load(doc)
    except ValidationError as err:
        raise InvalidDirectoryDocument(err.messages) from None
    items = [DirectoryItem(r["id"], r["type"], r["title"], r["language_tag"]) for r in parsed["items"]]
    users = [
        DirectoryUser(r["id"], r["login"], r["first_name"], r["last_name"], r["show_personal_info"])
        for r in parsed["users"]
    ]
    return items, users
