"""The session store on one DynamoDB table, the key design of AWS's "SessionManagement" example.

Table `{prefix}sessions` (or PARLEY_DYNAMODB_SESSIONS_TABLE): `PK`/`SK` (S), GSI `GSI1_inverse`
(partition `SK`, sort `PK`, all attributes), a `ttl` attribute (epoch seconds). Items:

    session      PK = suuid#<session id>  SK = c#<customer id>            session_state, customer_id,
                 last_login_time, last_active_at, expires_at, lifetime_ends_at (ms), access_token
                 (the token's id), version, child_ids (SS), ttl = expires_at
    child        PK = suuid#<session id>  SK = child#suuid#<child id>     customer_id, created_at, label,
                 ttl = the session's lifetime end (it never outlives that)
    last login   PK = c#<customer id>     SK = c#<customer id>#login      last_login_time, session_id

Every access pattern is one request (docs/access-patterns.md, "Sessions"):
- createSession: TransactWriteItems (Put session, Update last login only if later). A later login
  already stored cancels it; it is then retried without the last-login update (one more request,
  only in that race);
- getSessionBySessionId: Query `PK = suuid#id AND begins_with(SK, c#)` (the customer is not known);
- expireSession: TransactWriteItems (Update the session to `closing` with ttl now, if its version
  and state are still those read; Delete each child): the children end with it, atomically;
- getChildSessionsBySessionId: Query `PK = suuid#id AND begins_with(SK, child#)`;
- getSessionByChildSessionId: Query GSI1_inverse `SK = child#suuid#<child id>`;
- getSessionsByCustomerId / getSessionIdByCustomerId: Query GSI1_inverse `SK = c#<customer>`,
  newest first (session ids sort by creation), keyset `PK < suuid#<before>`;
- getLastLoginTimeByCustomerId: GetItem of the last-login item, which only ever moves later. (The
  reference took the GSI's first item by session id, a random uuid: not the latest login.)
The last-login item's own GSI partition is `c#<customer>#login`, one per customer, so it stays out
of the customer's session list and no partition is shared by every customer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.base import TTL_ATTRIBUTE, DynamoDbTable
from adapters.dynamodb.client import DynamoDbSettings, call, error_code, make_client
from adapters.dynamodb.transaction import DynamoDbTransaction
from domain.sessions.model import ChildSession, Session, SessionRef, SessionState

SESSIONS_TABLE = "sessions"
INVERSE_INDEX = "GSI1_inverse"
SESSION_PREFIX = "suuid#"
CUSTOMER_PREFIX = "c#"
CHILD_PREFIX = "child#suuid#"
NAMES = {"#pk": "PK", "#sk": "SK"}


def sessions_table_name(prefix: str, configured: str | None = None) -> str:
    return configured or f"{prefix}{SESSIONS_TABLE}"


def sessions_table_definition(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": INVERSE_INDEX,
                "KeySchema": [
                    {"AttributeName": "SK", "KeyType": "HASH"},
                    {"AttributeName": "PK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def _ms(dt: datetime) -> dict[str, str]:
    return {"N": str(int(dt.timestamp() * 1000))}


def _time(attribute: Mapping[str, str]) -> datetime:
    return datetime.fromtimestamp(int(attribute["N"]) / 1000, UTC)


def _ttl(dt: datetime) -> dict[str, str]:
    return {"N": str(math.ceil(dt.timestamp()))}


def session_key(session_id: str, customer_id: int) -> dict[str, Any]:
    return {"PK": {"S": SESSION_PREFIX + session_id}, "SK": {"S": f"{CUSTOMER_PREFIX}{customer_id}"}}


def child_key(session_id: str, child_id: str) -> dict[str, Any]:
    return {"PK": {"S": SESSION_PREFIX + session_id}, "SK": {"S": CHILD_PREFIX + child_id}}


def login_key(customer_id: int) -> dict[str, Any]:
    return {"PK": {"S": f"{CUSTOMER_PREFIX}{customer_id}"}, "SK": {"S": f"{CUSTOMER_PREFIX}{customer_id}#login"}}


def session_item(s: Session) -> dict[str, Any]:
    item = {
        **session_key(s.id, s.customer_id),
        "customer_id": {"N": str(s.customer_id)},
        "session_state": {"S": s.state.value},
        "last_login_time": _ms(s.last_login_time),
        "last_active_at": _ms(s.last_active_at),
        "expires_at": _ms(s.expires_at),
        "lifetime_ends_at": _ms(s.lifetime_ends_at),
        "version": {"N": str(s.version)},
        TTL_ATTRIBUTE: _ttl(s.expires_at),
    }
    if s.access_token:
        item["access_token"] = {"S": s.access_token}
    if s.child_ids:
        item["child_ids"] = {"SS": list(s.child_ids)}
    return item


def session_from_item(item: Mapping[str, Any]) -> Session:
    return Session(
        id=item["PK"]["S"].removeprefix(SESSION_PREFIX),
        customer_id=int(item["customer_id"]["N"]),
        last_login_time=_time(item["last_login_time"]),
        last_active_at=_time(item["last_active_at"]),
        expires_at=_time(item["expires_at"]),
        lifetime_ends_at=_time(item["lifetime_ends_at"]),
        state=SessionState(item["session_state"]["S"]),
        access_token=item.get("access_token", {}).get("S"),
        child_ids=tuple(sorted(item.get("child_ids", {}).get("SS", ()))),
        version=int(item["version"]["N"]),
    )


def child_from_item(item: Mapping[str, Any]) -> ChildSession:
    return ChildSession(
        id=item["SK"]["S"].removeprefix(CHILD_PREFIX),
        session_id=item["PK"]["S"].removeprefix(SESSION_PREFIX),
        customer_id=int(item["customer_id"]["N"]),
        created_at=_time(item["created_at"]),
        label=item.get("label", {}).get("S"),
    )


class _Stale(Exception):
    """A write's condition on the session failed: it changed (or ended) since it was read."""


class _LaterLogin(Exception):
    """The customer's stored last login is already later than this one."""


class SessionsTable(DynamoDbTable):
    NAME = SESSIONS_TABLE


class DynamoDbSessionStore:
    def __init__(self, client, table: str):
        self._table = SessionsTable(client, table)
        self.client, self.table = client, table

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None, client=None) -> DynamoDbSessionStore:
        """The table named by PARLEY_DYNAMODB_SESSIONS_TABLE, else `{prefix}sessions`; the process's
        client when given (one per process)."""
        dynamodb = DynamoDbSettings.from_settings(settings)
        name = sessions_table_name(dynamodb.table_prefix, (settings or {}).get("dynamodb_sessions_table"))
        return cls(client or make_client(dynamodb), name)

    def create(self, session: Session) -> None:
        for raise_login in (True, False):
            transaction = DynamoDbTransaction(self._table, conflicts={"login": _LaterLogin})
            transaction.put("session", session_item(session), condition="attribute_not_exists(PK)")
            if raise_login:
                transaction.update(
                    "login",
                    login_key(session.customer_id),
                    "SET last_login_time = :t, session_id = :s",
                    condition="attribute_not_exists(last_login_time) OR last_login_time < :t",
                    values={":t": _ms(session.last_login_time), ":s": {"S": session.id}},
                )
            try:
                transaction.commit()
                return
            except _LaterLogin:
                continue  # a later login is already stored: it stays the last one

    def get(self, session_id: str) -> Session | None:
        items = self._query_partition(session_id, CUSTOMER_PREFIX)
        return session_from_item(items[0]) if items else None

    def end(self, session: Session, now: datetime) -> bool:
        closing = session.closing(now)
        transaction = DynamoDbTransaction(self._table, conflicts={"session": _Stale})
        transaction.update(
            "session",
            session_key(session.id, session.customer_id),
            "SET session_state = :closing, expires_at = :e, #ttl = :ttl, version = :next REMOVE child_ids",
            condition="version = :v AND session_state = :active",
            names={"#ttl": TTL_ATTRIBUTE},
            values={
                ":closing": {"S": SessionState.CLOSING.value},
                ":active": {"S": SessionState.ACTIVE.value},
                ":e": _ms(closing.expires_at),
                ":ttl": _ttl(now),
                ":v": {"N": str(session.version)},
                ":next": {"N": str(session.version + 1)},
            },
        )
        for child_id in session.child_ids:
            transaction.delete("child", child_key(session.id, child_id))
        return _committed(transaction)

    def renew(self, session: Session, now: datetime) -> bool:
        values = {
            ":a": _ms(session.last_active_at),
            ":e": _ms(session.expires_at),
            ":ttl": _ttl(session.expires_at),
            ":now": _ms(now),
            ":active": {"S": SessionState.ACTIVE.value},
        }
        expression = "SET last_active_at = :a, expires_at = :e, #ttl = :ttl"
        if session.access_token:
            expression += ", access_token = :token"
            values[":token"] = {"S": session.access_token}
        try:
            call(
                self.client.update_item,
                TableName=self.table,
                Key=session_key(session.id, session.customer_id),
                UpdateExpression=expression,
                ConditionExpression="session_state = :active AND expires_at > :now",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def add_child(self, session: Session, child: ChildSession, now: datetime) -> bool:
        transaction = DynamoDbTransaction(self._table, conflicts={"session": _Stale})
        transaction.update(
            "session",
            session_key(session.id, session.customer_id),
            "SET version = :next ADD child_ids :child",
            condition="version = :v AND session_state = :active AND expires_at > :now",
            values={
                ":next": {"N": str(session.version)},
                ":v": {"N": str(session.version - 1)},
                ":child": {"SS": [child.id]},
                ":active": {"S": SessionState.ACTIVE.value},
                ":now": _ms(now),
            },
        )
        item = {
            **child_key(session.id, child.id),
            "customer_id": {"N": str(child.customer_id)},
            "created_at": _ms(child.created_at),
            TTL_ATTRIBUTE: _ttl(session.lifetime_ends_at),
        }
        if child.label is not None:
            item["label"] = {"S": child.label}
        transaction.put("child", item, condition="attribute_not_exists(PK)")
        return _committed(transaction)

    def children(self, session_id: str) -> list[ChildSession]:
        return [child_from_item(i) for i in self._query_partition(session_id, "child#")]

    def child(self, child_id: str) -> ChildSession | None:
        answer = self._table.query(
            IndexName=INVERSE_INDEX,
            KeyConditionExpression="#sk = :sk",
            ExpressionAttributeNames={"#sk": "SK"},
            ExpressionAttributeValues={":sk": {"S": CHILD_PREFIX + child_id}},
            Limit=1,
        )
        items = answer.get("Items", [])
        return child_from_item(items[0]) if items else None

    def of_customer(self, customer_id: int, before: str | None, limit: int) -> list[Session]:
        return [session_from_item(i) for i in self._query_customer(customer_id, before, limit)]

    def ids_of_customer(self, customer_id: int, before: str | None, limit: int) -> list[SessionRef]:
        items = self._query_customer(customer_id, before, limit, projection="#pk, session_state, expires_at")
        return [
            SessionRef(i["PK"]["S"].removeprefix(SESSION_PREFIX), SessionState(i["session_state"]["S"]),
                       _time(i["expires_at"]))
            for i in items
        ]

    def last_login(self, customer_id: int) -> datetime | None:
        item = self._table.get(login_key(customer_id))
        return _time(item["last_login_time"]) if item else None

    def _query_partition(self, session_id: str, sort_prefix: str) -> list[dict[str, Any]]:
        answer = self._table.query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames=NAMES,
            ExpressionAttributeValues={":pk": {"S": SESSION_PREFIX + session_id}, ":prefix": {"S": sort_prefix}},
            ConsistentRead=True,
        )
        return answer.get("Items", [])

    def _query_customer(
        self, customer_id: int, before: str | None, limit: int, projection: str | None = None
    ) -> list[dict[str, Any]]:
        condition = "#sk = :sk"
        values: dict[str, Any] = {":sk": {"S": f"{CUSTOMER_PREFIX}{customer_id}"}}
        names = {"#sk": "SK"}
        if before is not None:
            condition += " AND #pk < :before"
            values[":before"] = {"S": SESSION_PREFIX + before}
        kwargs: dict[str, Any] = {}
        if projection:
            kwargs["ProjectionExpression"] = projection
        if before is not None or projection:
            names["#pk"] = "PK"
        if limit <= 0:
            return []
        answer = self._table.query(
            IndexName=INVERSE_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
            **kwargs,
        )
        return answer.get("Items", [])


def _committed(transaction: DynamoDbTransaction) -> bool:
    """True when written; False when the session's condition failed (the caller reads again)."""
    try:
        transaction.commit()
    except _Stale:
        return False
    return True
