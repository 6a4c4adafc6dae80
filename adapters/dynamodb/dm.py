"""The dm ports on DynamoDB, in Cruddur's table shape (issue 14): `pk` (S) / `sk` (S), GSI
`message-group-sk-index` (`message_group_uuid`, `sk`, all attributes), a stream of NEW_IMAGEs.

Items (docs/access-patterns.md, dm):
- `GRP#<owner uuid>` / `<last_message_at>`: one member's summary of a group: `message_group_uuid`,
  `message` (the last), the OTHER user's `user_uuid`, `user_display_name`, `user_handle`; `unread`.
- `MSG#<group uuid>` / `<created_at>`: a message: `message_uuid`, `message`, the sender's
  `user_uuid`, `user_display_name`, `user_handle`.
- `GROUP#<group uuid>` / `GROUP`: the members (uuids and Parley user ids), `last_message_at`, a
  `version` every write moves, and the unread counts.
- `PAIR#<uuid a>#<uuid b>` / `PAIR`: the pair's one group (a conditional put makes it unique).
- `USER#<user id>`, `UUID#<uuid>`, `HANDLE#<handle>` / `USER`: one directory entry under its three
  lookups, written together.

Times are RFC 3339 at milliseconds ("2026-03-01T09:00:00.000Z"), which sort as strings do. A send is
one TransactWriteItems: the message, the group's conditional move, and for each member the Delete of
the old summary and the Put of the new one (its sort key changes); the group's version condition
makes concurrent sends serial, so no member ever has two summaries of a group, nor one older than
the group's newest message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.base import DynamoDbTable, deserialize, serialize, serialize_value
from adapters.dynamodb.client import DynamoDbSettings, call, error_code, make_client
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.dm.ports import GroupChanged, ProfileChanged, TimeTaken
from application.shared import Notifier
from application.unit_of_work import UnitOfWorkBase
from domain.dm.model import Group, Message, Profile, Summary, UserRef, pair_key
from domain.shared import rfc3339, utc

TABLE_NAME = "dm"
GROUP_INDEX = "message-group-sk-index"

# Kinds of buffered writes whose failed condition is an answer, in the order they are checked.
CONFLICTS = {
    "group": lambda: GroupChanged("the group changed since it was read"),
    "pair": lambda: GroupChanged("the pair has a group already"),
    "message": lambda: GroupChanged("a message has that time already"),
    "old-summary": lambda: GroupChanged("the summary moved"),
    "summary": lambda: TimeTaken("a member has a summary at that time"),
    "profile": lambda: ProfileChanged("the directory entry changed"),
    "handle": lambda: ProfileChanged("the handle was taken meanwhile"),
}


def dm_table_definition(table_name: str) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "message_group_uuid", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GROUP_INDEX,
                "KeySchema": [
                    {"AttributeName": "message_group_uuid", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    }


def dm_table_name(settings: Mapping[str, Any] | None) -> str:
    """PARLEY_DYNAMODB_DM_TABLE names the table outright; otherwise the prefix and `dm`."""
    settings = settings or {}
    return settings.get("dynamodb_dm_table") or f"{DynamoDbSettings.from_settings(settings).table_prefix}{TABLE_NAME}"


def create_dm_table(client, prefix: str | None = None, table_name: str | None = None) -> bool:
    """Create the table if it is missing; True when it was created."""
    from adapters.dynamodb.tables import _wait_active

    name = table_name or f"{prefix}{TABLE_NAME}"
    try:
        call(client.create_table, **dm_table_definition(name))
        _wait_active(client, name)  # DynamoDB Local: at once; AWS: seconds
        return True
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":
            raise
        return False


def delete_dm_table(client, prefix: str | None = None, table_name: str | None = None) -> None:
    try:
        call(client.delete_table, TableName=table_name or f"{prefix}{TABLE_NAME}")
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


class DynamoDbDmTable(DynamoDbTable):
    NAME = TABLE_NAME

    @classmethod
    def from_settings(cls, settings):
        plain = settings if isinstance(settings, Mapping) else {}
        return cls(make_client(DynamoDbSettings.from_settings(plain)), dm_table_name(plain))


# -- keys and items ------------------------------------------------------------------------------


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def time_key(at: datetime) -> str:
    return rfc3339(at)


def parse_time(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def group_key(group_uuid: str) -> dict[str, Any]:
    return _key(f"GROUP#{group_uuid}", "GROUP")


def pair_item_key(a_uuid: str, b_uuid: str) -> dict[str, Any]:
    a, b = pair_key(a_uuid, b_uuid)
    return _key(f"PAIR#{a}#{b}", "PAIR")


def summary_key(owner_uuid: str, at: datetime) -> dict[str, Any]:
    return _key(f"GRP#{owner_uuid}", time_key(at))


def message_pk(group_uuid: str) -> str:
    return f"MSG#{group_uuid}"


def message_item(message: Message) -> dict[str, Any]:
    return {
        **_key(message_pk(message.group_uuid), time_key(message.created_at)),
        **serialize(
            {
                "message_uuid": message.message_uuid,
                "message": message.text,
                "user_uuid": message.sender.uuid,
                "user_display_name": message.sender.display_name,
                "user_handle": message.sender.handle,
            }
        ),
    }


def message_from_item(item: Mapping[str, Any]) -> Message:
    plain = deserialize(item)
    sender = UserRef(plain["user_uuid"], plain.get("user_handle", ""), plain.get("user_display_name", ""))
    group_uuid = plain["pk"].removeprefix("MSG#")
    return Message(group_uuid, plain["message_uuid"], parse_time(plain["sk"]), plain["message"], sender)


def _summary_item(summary: Summary) -> dict[str, Any]:
    return {
        **summary_key(summary.owner_uuid, summary.last_message_at),
        **serialize(
            {
                "message_group_uuid": summary.group_uuid,
                "message": summary.last_message,
                "user_uuid": summary.other.uuid,
                "user_display_name": summary.other.display_name,
                "user_handle": summary.other.handle,
                "unread": summary.unread,
            }
        ),
    }


def _summary(item: Mapping[str, Any]) -> Summary:
    plain = deserialize(item)
    other = UserRef(plain["user_uuid"], plain.get("user_handle", ""), plain.get("user_display_name", ""))
    owner = plain["pk"].removeprefix("GRP#")
    at = parse_time(plain["sk"])
    return Summary(owner, plain["message_group_uuid"], at, plain["message"], other, plain.get("unread", 0))


def _group_item(group: Group) -> dict[str, Any]:
    plain: dict[str, Any] = {
        "group_uuid": group.uuid,
        "members": list(group.members),
        "member_ids": list(group.member_ids),
        "version": group.version,
        "unread": {m: group.unread.get(m, 0) for m in group.members},
    }
    if group.last_message_at is not None:
        plain["last_message_at"] = time_key(group.last_message_at)
    return {**group_key(group.uuid), **serialize(plain)}


def _group(item: Mapping[str, Any]) -> Group:
    plain = deserialize(item)
    last = plain.get("last_message_at")
    return Group(
        plain["group_uuid"],
        tuple(plain["members"]),
        tuple(plain["member_ids"]),
        parse_time(last) if last else None,
        plain["version"],
        dict(plain.get("unread", {})),
    )


def _profile_items(profile: Profile) -> list[dict[str, Any]]:
    body = serialize(
        {
            "user_id": profile.user_id,
            "user_uuid": profile.uuid,
            "user_handle": profile.handle,
            "user_display_name": profile.display_name,
        }
    )
    return [
        {**_key(pk, "USER"), **body}
        for pk in (f"USER#{profile.user_id}", f"UUID#{profile.uuid}", f"HANDLE#{profile.handle}")
    ]


def _profile(item: Mapping[str, Any]) -> Profile:
    plain = deserialize(item)
    return Profile(plain["user_id"], plain["user_uuid"], plain["user_handle"], plain["user_display_name"])


# -- the ports ------------------------------------------------------------------------------------


class DynamoDbDirectory:
    def __init__(self, table: DynamoDbDmTable, tx: DynamoDbTransaction):
        self._table, self._tx = table, tx

    def _get(self, pk: str) -> Profile | None:
        item = self._table.get(_key(pk, "USER"))
        return None if item is None else _profile(item)

    def by_user(self, user_id: int) -> Profile | None:
        return self._get(f"USER#{user_id}")

    def by_handle(self, handle: str) -> Profile | None:
        return self._get(f"HANDLE#{handle}")

    def by_uuid(self, user_uuid: str) -> Profile | None:
        return self._get(f"UUID#{user_uuid}")

    def save(self, profile: Profile, previous: Profile | None) -> None:
        by_user, by_uuid, by_handle = _profile_items(profile)
        if previous is None:
            self._tx.put("profile", by_user, "attribute_not_exists(pk)")
        else:
            self._tx.put(
                "profile",
                by_user,
                "user_handle = :handle AND user_display_name = :name",
                values={
                    ":handle": serialize_value(previous.handle),
                    ":name": serialize_value(previous.display_name),
                },
            )
        self._tx.put("uuid", by_uuid)
        self._tx.put(
            "handle", by_handle, "attribute_not_exists(pk) OR user_id = :me",
            values={":me": serialize_value(profile.user_id)},
        )
        if previous is not None and previous.handle != profile.handle:
            self._tx.delete("old-handle", _key(f"HANDLE#{previous.handle}", "USER"))


class DynamoDbConversations:
    def __init__(self, table: DynamoDbDmTable, tx: DynamoDbTransaction):
        self._table, self._tx = table, tx

    def group(self, group_uuid: str) -> Group | None:
        item = self._table.get(group_key(group_uuid))
        return None if item is None else _group(item)

    def group_of_pair(self, a_uuid: str, b_uuid: str) -> Group | None:
        item = self._table.get(pair_item_key(a_uuid, b_uuid))
        return None if item is None else self.group(item["group_uuid"]["S"])

    def record(
        self, group: Group, previous: Group | None, message: Message | None, summaries: tuple[Summary, Summary]
    ) -> None:
        tx = self._tx
        if previous is None:
            pair = {**pair_item_key(*group.members), **serialize({"group_uuid": group.uuid})}
            tx.put("pair", pair, "attribute_not_exists(pk)")
            tx.put("group", _group_item(group), "attribute_not_exists(pk)")
        else:
            tx.put("group", _group_item(group), "version = :read", values={":read": serialize_value(previous.version)})
        if message is not None:
            tx.put("message", message_item(message), "attribute_not_exists(pk)")
        old_at = previous.last_message_at if previous is not None else None
        for summary in summaries:
            if old_at is not None:
                # Never another group's summary; a missing one (a drifted table) is simply replaced.
                tx.delete(
                    "old-summary", summary_key(summary.owner_uuid, old_at),
                    "attribute_not_exists(pk) OR message_group_uuid = :g",
                    values={":g": serialize_value(group.uuid)},
                )
            tx.put("summary", _summary_item(summary), "attribute_not_exists(pk)")

    def mark_read(self, group: Group, previous: Group, owner_uuid: str) -> None:
        read = {":read": serialize_value(previous.version)}
        self._tx.put("group", _group_item(group), "version = :read", values=read)
        assert group.last_message_at is not None
        self._tx.update(
            "old-summary", summary_key(owner_uuid, group.last_message_at), "SET unread = :zero",
            "message_group_uuid = :g", values={":zero": {"N": "0"}, ":g": serialize_value(group.uuid)},
        )

    def _messages(self, group_uuid: str, condition: str, values: dict, limit: int, forward: bool) -> list[Message]:
        answer = self._table.query(
            KeyConditionExpression=f"pk = :pk{condition}",
            ExpressionAttributeValues={":pk": {"S": message_pk(group_uuid)}, **values},
            ScanIndexForward=forward,
            Limit=limit,
            ConsistentRead=True,
        )
        return [message_from_item(item) for item in answer.get("Items", [])]

    def messages_before(self, group_uuid: str, before: datetime | None, limit: int) -> list[Message]:
        if before is None:
            return self._messages(group_uuid, "", {}, limit, forward=False)
        return self._messages(group_uuid, " AND sk < :t", {":t": {"S": time_key(before)}}, limit, forward=False)

    def messages_after(self, group_uuid: str, after: datetime, limit: int) -> list[Message]:
        return self._messages(group_uuid, " AND sk > :t", {":t": {"S": time_key(after)}}, limit, forward=True)

    def summaries(self, owner_uuid: str, before: datetime | None, limit: int) -> list[Summary]:
        values: dict[str, Any] = {":pk": {"S": f"GRP#{owner_uuid}"}}
        condition = "pk = :pk"
        if before is not None:
            condition += " AND sk < :t"
            values[":t"] = {"S": time_key(before)}
        answer = self._table.query(
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_summary(item) for item in answer.get("Items", [])]


class DynamoDbDmUnitOfWork(UnitOfWorkBase):
    """Reads go straight to the table (strongly consistent GetItem, Query); writes are buffered and
    sent at commit as one TransactWriteItems."""

    def __init__(self, table: DynamoDbDmTable, notifier: Notifier):
        super().__init__(notifier)
        self._table = table
        self._tx = DynamoDbTransaction(table, CONFLICTS)
        self.users = DynamoDbDirectory(table, self._tx)
        self.groups = DynamoDbConversations(table, self._tx)

    def _begin(self) -> None:
        self._tx.clear()

    def _commit(self) -> None:
        try:
            self._tx.commit()
        finally:
            self._tx.clear()

    def _rollback(self) -> None:
        self._tx.clear()
