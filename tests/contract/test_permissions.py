"""Contract of the Permissions port over Parley's grant tables: memory and SQL decide alike.

One grants document is loaded into each adapter (the memory tables, or `parley grants import`'s
SQL import) and the same scenarios of DESIGN.md §2.1 are asked of both.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters.memory.permissions import GrantTables, MemoryPermissions
from adapters.sql import tables
from adapters.sql.permissions import SqlPermissions, import_grants
from domain.forum.model import ThreadKey
from domain.forum.policy import Grants, ViewLevel, WatchLevel
from tests.support.sql import SQL_BACKENDS, fresh_database

ITEM = 100
HELPERS, HELPER_CLASS = 50, 51  # the thread's helper group and a class inside it
TEAM, CLASS, TRAINERS, OTHER_TRAINERS = 70, 80, 60, 61
PARTICIPANT, TEAMMATE, HELPER, WATCHER, UNMANAGED_WATCHER, RESULT_WATCHER, STRANGER = 7, 8, 20, 30, 31, 32, 99

DOC = {
    "memberships": [
        {"group_id": CLASS, "member_id": PARTICIPANT},
        {"group_id": TEAM, "member_id": PARTICIPANT},
        {"group_id": TEAM, "member_id": TEAMMATE},
        {"group_id": CLASS, "member_id": TEAM},
        {"group_id": HELPERS, "member_id": HELPER_CLASS},
        {"group_id": HELPER_CLASS, "member_id": HELPER},
        {"group_id": TRAINERS, "member_id": WATCHER},
        {"group_id": OTHER_TRAINERS, "member_id": UNMANAGED_WATCHER},
        {"group_id": HELPER_CLASS, "member_id": RESULT_WATCHER},
        # a cycle must end the ancestry walk, not hang it
        {"group_id": 90, "member_id": 91},
        {"group_id": 91, "member_id": 90},
    ],
    "item_permissions": [
        {"group_id": CLASS, "item_id": ITEM, "can_view": "content", "can_request_help_to": [HELPERS]},
        {"group_id": HELPER_CLASS, "item_id": ITEM, "can_view": "content", "can_watch": "result"},
        {"group_id": TRAINERS, "item_id": ITEM, "can_view": "solution", "can_watch": "answer"},
        {"group_id": OTHER_TRAINERS, "item_id": ITEM, "can_view": "content", "can_watch": "answer"},
        # a lower grant given again must not lower the first one
        {"group_id": TRAINERS, "item_id": ITEM, "can_view": "info", "can_watch": "result"},
    ],
    "managers": [{"manager_group_id": TRAINERS, "group_id": CLASS}],
    "validated": [{"user_id": HELPER, "item_id": ITEM}],
}

MINE = ThreadKey(ITEM, PARTICIPANT)
TEAMS = ThreadKey(ITEM, TEAM)

# (scenario, user, thread, thread's helper group, requested helper group, expected grants)
SCENARIOS = [
    ("participant", PARTICIPANT, MINE, HELPERS, None,
     Grants(can_view=ViewLevel.CONTENT, is_participant=True)),
    ("participant asks help through ancestry", PARTICIPANT, MINE, None, HELPER_CLASS,
     Grants(can_view=ViewLevel.CONTENT, is_participant=True, can_request_help_to=True)),
    ("participant asks a group it may not", PARTICIPANT, MINE, None, TRAINERS,
     Grants(can_view=ViewLevel.CONTENT, is_participant=True)),
    ("team member", TEAMMATE, TEAMS, HELPERS, HELPERS,
     Grants(can_view=ViewLevel.CONTENT, is_participant=True, can_request_help_to=True)),
    ("team member on a teammate's own thread", TEAMMATE, MINE, HELPERS, None,
     Grants(can_view=ViewLevel.CONTENT)),
    ("helper-group member through ancestry, validated", HELPER, MINE, HELPERS, None,
     Grants(can_view=ViewLevel.CONTENT, can_watch=WatchLevel.RESULT, is_helper_group_member=True, validated=True)),
    ("helper-group member, not validated", RESULT_WATCHER, MINE, HELPERS, None,
     Grants(can_view=ViewLevel.CONTENT, can_watch=WatchLevel.RESULT, is_helper_group_member=True)),
    ("helper of another group", HELPER, MINE, TRAINERS, None,
     Grants(can_view=ViewLevel.CONTENT, can_watch=WatchLevel.RESULT, validated=True)),
    ("watcher with can_watch_members", WATCHER, MINE, HELPERS, None,
     Grants(can_view=ViewLevel.SOLUTION, can_watch=WatchLevel.ANSWER, can_watch_members=True)),
    ("watcher with can_watch_members on a team", WATCHER, TEAMS, HELPERS, None,
     Grants(can_view=ViewLevel.SOLUTION, can_watch=WatchLevel.ANSWER, can_watch_members=True)),
    ("watcher without can_watch_members", UNMANAGED_WATCHER, MINE, HELPERS, None,
     Grants(can_view=ViewLevel.CONTENT, can_watch=WatchLevel.ANSWER)),
    # can_request_help_to is a fact about the participant; the rules only let the participant use it
    ("stranger", STRANGER, MINE, HELPERS, HELPERS, Grants(can_request_help_to=True)),
    ("stranger, no help asked", STRANGER, MINE, HELPERS, None, Grants()),
    ("another item", PARTICIPANT, ThreadKey(ITEM + 1, PARTICIPANT), HELPERS, HELPERS,
     Grants(is_participant=True)),
]

BACKENDS = ("memory", *SQL_BACKENDS)


@pytest.fixture(params=BACKENDS)
def permissions(request):
    if request.param == "memory":
        return MemoryPermissions(GrantTables.from_json(DOC))
    database = fresh_database(request, request.param)
    import_grants(database.engine, DOC)
    return SqlPermissions(database.engine)


@pytest.mark.parametrize(
    ("user", "key", "helper", "requested", "expected"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_grants(permissions, user, key, helper, requested, expected):
    assert permissions.grants(user, key, helper, requested) == expected


def test_group_ancestry_and_descendants(permissions):
    assert permissions.user_group_ids(PARTICIPANT) == (PARTICIPANT, TEAM, CLASS)
    assert permissions.user_group_ids(HELPER) == (HELPER, HELPERS, HELPER_CLASS)
    assert permissions.user_group_ids(STRANGER) == (STRANGER,)
    assert permissions.user_group_ids(90) == (90, 91)
    assert permissions.group_and_descendants(CLASS) == (PARTICIPANT, TEAMMATE, TEAM, CLASS)
    assert permissions.group_and_descendants(HELPERS) == (HELPER, RESULT_WATCHER, HELPERS, HELPER_CLASS)


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in tables.GRANT_TABLES
        }


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_importing_twice_changes_nothing(request, backend):
    database = fresh_database(request, backend)
    import_grants(database.engine, DOC)
    first = row_counts(database.engine)
    import_grants(database.engine, DOC)
    assert row_counts(database.engine) == first
    assert first == {
        "group_memberships": 11,
        "item_permissions": 4,
        "item_help_targets": 1,
        "group_managers": 1,
        "validated_items": 1,
    }
    # and a later, lower grant keeps the highest levels, as the memory adapter decides from both rows
    import_grants(database.engine, {"item_permissions": [{"group_id": TRAINERS, "item_id": ITEM, "can_view": "none"}]})
    assert SqlPermissions(database.engine).grants(WATCHER, MINE, None).can_view == ViewLevel.SOLUTION
