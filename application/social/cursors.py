"""Opaque page positions of the social lists: a user id, a post id, or a timeline (post, author) pair.

A kind letter leads each cursor so that one list's cursor is refused by another list (400).
"""

from __future__ import annotations

from domain.shared import DomainError, InvalidCursor, KeysetCursor, parse_id


def user_cursor(user_id: int) -> str:
    return KeysetCursor(("u", str(user_id))).encode()


def post_cursor(post_id: int) -> str:
    return KeysetCursor(("p", str(post_id))).encode()


def timeline_cursor(post_id: int, author_id: int) -> str:
    return KeysetCursor(("t", str(post_id), str(author_id))).encode()


def decode_user_cursor(token: str, field_name: str = "after") -> int:
    return _ids(token, "u", 1, field_name)[0]


def decode_post_cursor(token: str, field_name: str = "before") -> int:
    return _ids(token, "p", 1, field_name)[0]


def decode_timeline_cursor(token: str, field_name: str = "before") -> tuple[int, int]:
    post_id, author_id = _ids(token, "t", 2, field_name)
    return post_id, author_id


def _ids(token: str, kind: str, count: int, field_name: str) -> list[int]:
    values = KeysetCursor.decode(token, count + 1, field_name).values
    if values[0] != kind:
        raise InvalidCursor(field_name)
    try:
        return [parse_id(v) for v in values[1:]]
    except DomainError:
        raise InvalidCursor(field_name) from None
