"""The users directory: each Parley user's uuid (made once), unique handle and display name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from application.dm.ports import DmDeps, HandleTaken, ProfileChanged
from application.shared import Actor
from domain.dm.model import NoProfile, Profile, new_uuid, profile_errors, raise_if_any
from domain.shared import DomainError, Forbidden, InvalidValue, parse_id

SAVE_ATTEMPTS = 5


def _user_id(actor: Actor) -> int:
    if not actor.speaks_for_user:
        # A service token or a thread token (which speaks for its one thread) is no user's voice here.
        raise Forbidden("direct messages need a user credential")
    assert actor.user_id is not None
    return actor.user_id


def my_profile(deps: DmDeps, actor: Actor) -> Profile:
    with deps.reader() as uow:
        profile = uow.users.by_user(_user_id(actor))
    if profile is None:
        raise NoProfile()
    return profile


def set_profile(deps: DmDeps, actor: Actor, handle: object, display_name: object) -> Profile:
    """PUT /dm/me: create the entry (a uuid made now, kept forever) or change handle and name."""
    return save_profile(deps, _user_id(actor), handle, display_name)


def save_profile(deps: DmDeps, user_id: int, handle: object, display_name: object) -> Profile:
    errors, normalized, name = profile_errors(handle, display_name)
    raise_if_any(errors)
    assert normalized is not None and name is not None
    for _ in range(SAVE_ATTEMPTS):
        try:
            with deps.uow() as uow:
                previous = uow.users.by_user(user_id)
                owner = uow.users.by_handle(normalized)
                if owner is not None and owner.user_id != user_id:
                    raise HandleTaken()
                uuid = previous.uuid if previous else new_uuid()
                profile = Profile(user_id, uuid, normalized, name)
                if profile != previous:
                    uow.users.save(profile, previous)
                uow.commit()
            return profile
        except ProfileChanged:
            continue
    raise ProfileChanged("the directory entry kept changing; try again")


@dataclass(frozen=True)
class ImportRow:
    user_id: int
    handle: str
    display_name: str


def parse_import(rows: object) -> list[ImportRow]:
    """Validate a whole import document first: every row's every failure, before anything is written."""
    if not isinstance(rows, list):
        raise InvalidValue("invalid users document", {"users": ["must be a JSON array of users"]})
    errors: dict[str, list[str]] = {}
    parsed: list[ImportRow] = []
    seen_ids: dict[int, int] = {}
    seen_handles: dict[str, int] = {}
    for index, row in enumerate(rows):
        where = f"users[{index}]"
        if not isinstance(row, dict):
            errors[where] = ["must be an object with user_id, handle, display_name"]
            continue
        unknown = sorted(set(row) - {"user_id", "handle", "display_name"})
        if unknown:
            errors[f"{where}"] = [f"unknown field {name!r}" for name in unknown]
        try:
            user_id = parse_id(row.get("user_id"), "user_id")
        except DomainError:
            errors[f"{where}.user_id"] = ["must be a positive 64-bit integer"]
            user_id = None
        field_errors, handle, name = profile_errors(row.get("handle"), row.get("display_name"))
        for field_name, reasons in field_errors.items():
            errors[f"{where}.{field_name}"] = reasons
        if user_id is not None and user_id in seen_ids:
            errors[f"{where}.user_id"] = [f"repeats users[{seen_ids[user_id]}]"]
        if handle is not None and handle in seen_handles:
            errors[f"{where}.handle"] = [f"repeats users[{seen_handles[handle]}]"]
        if user_id is not None and handle is not None and name is not None:
            seen_ids[user_id], seen_handles[handle] = index, index
            parsed.append(ImportRow(user_id, handle, name))
    raise_if_any(errors)
    return parsed


def import_profiles(deps: DmDeps, rows: Iterable[ImportRow]) -> int:
    """Everything in one unit of work: a handle held by another user stops the import, nothing kept.

    Small documents only (DynamoDB: three writes per new user in one transaction of at most 100).
    """
    rows = list(rows)
    count = 0
    with deps.uow() as uow:
        for row in rows:
            previous = uow.users.by_user(row.user_id)
            owner = uow.users.by_handle(row.handle)
            if owner is not None and owner.user_id != row.user_id:
                raise HandleTaken()
            profile = Profile(row.user_id, previous.uuid if previous else new_uuid(), row.handle, row.display_name)
            if profile != previous:
                uow.users.save(profile, previous)
                count += 1
        uow.commit()
    return count
