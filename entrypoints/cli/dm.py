"""`parley dm …` and `parley seed dm` (issue 14): the users directory import, the streams consumer,
a development listing of the dm table, and demo data."""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urlparse

from domain.shared import DomainError
from entrypoints.demo import DEMO_USERS

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# The demo's learner and trainer (entrypoints/demo.py).
SEED_USERS = tuple((user.user_id, user.handle, user.display_name) for user in DEMO_USERS[:2])
SEED_MESSAGES = (
    (1, "Hi Grace, are you coming to the study group tomorrow?"),
    (2, "Yes! I will bring my notes on chapter 3."),
    (1, "Great, see you there."),
)


def _container():
    from container import Container, settings_from_env

    container = Container()
    container.config.from_dict(settings_from_env())
    return container


def _print_error(command: str, err: DomainError) -> None:
    print(f"{command}: {err.message}", file=sys.stderr)
    for field_name, reasons in err.details.items():
        print(f"  {field_name}: {', '.join(reasons)}", file=sys.stderr)


def cmd_users_import(args: argparse.Namespace) -> int:
    """Load `{"users": [{user_id, handle, display_name}, …]}` (or the bare list); all or nothing."""
    from application.dm.directory import import_profiles, parse_import

    command = "parley dm users import"
    try:
        with open(args.file, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as err:
        print(f"{command}: cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    rows = doc.get("users") if isinstance(doc, dict) else doc
    try:
        parsed = parse_import(rows)
        count = import_profiles(_container().dm.deps(), parsed)
    except DomainError as err:
        _print_error(command, err)
        return 2 if err.code in ("invalid_value", "handle_taken") else 1
    except ValueError as err:
        # One all-or-nothing transaction: on DynamoDB at most 100 writes (33 new users) per document.
        print(f"{command}: {err}; import the users in smaller documents", file=sys.stderr)
        return 1
    print(f"users: {len(parsed)} in the document, {count} created or changed")
    return 0


def _dm_table(settings):
    from adapters.dynamodb.dm import DynamoDbDmTable

    return DynamoDbDmTable.from_settings(settings)


def cmd_streams_run(args: argparse.Namespace) -> int:
    """Consume the dm table's stream until interrupted (or, with --once, until caught up)."""
    from adapters.dynamodb.client import DynamoDbSettings
    from application.dm.conversations import apply_stored_message
    from entrypoints.streams.dm import DmStreamConsumer, FileCheckpoints, make_streams_client

    container = _container()
    settings = container.config()
    if settings["profile"] != "aws":
        print("parley dm streams run: only the aws profile keeps direct messages in DynamoDB", file=sys.stderr)
        return 2
    deps = container.dm.deps()
    table = container.dm.table()
    streams = make_streams_client(DynamoDbSettings.from_settings(settings))
    consumer = DmStreamConsumer(
        table.client, streams, table.table, FileCheckpoints(args.checkpoint), lambda m: apply_stored_message(deps, m)
    )
    try:
        if args.once:
            consumer.catch_up()
        else:
            consumer.run(poll_seconds=args.poll)
    except KeyboardInterrupt:
        pass
    stats = consumer.stats
    print(f"records: {stats.records}, messages: {stats.messages}, summaries moved: {stats.applied}")
    return 0


def is_local(endpoint_url: str | None) -> bool:
    return bool(endpoint_url) and (urlparse(endpoint_url).hostname or "") in LOCAL_HOSTS


def cmd_scan(args: argparse.Namespace) -> int:
    """Every item of the dm table, one JSON object a line: for development, never a request path."""
    from adapters.dynamodb.base import deserialize
    from adapters.dynamodb.client import DynamoDbSettings, call
    from container import settings_from_env

    settings = settings_from_env()
    endpoint = DynamoDbSettings.from_settings(settings).endpoint_url
    if not is_local(endpoint) and not args.allow_remote:
        print(
            f"parley dm scan: {endpoint or 'AWS'} is not a local endpoint; a Scan reads the whole table "
            "(pass --allow-remote to do it anyway)", file=sys.stderr,
        )
        return 2
    table = _dm_table(settings)
    kwargs: dict = {"TableName": table.table}
    shown = 0
    while shown < args.limit:
        answer = call(table.client.scan, **kwargs, Limit=min(100, args.limit - shown))
        for item in answer.get("Items", []):
            print(json.dumps(deserialize(item), sort_keys=True, default=str))
            shown += 1
        if "LastEvaluatedKey" not in answer:
            break
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    print(f"{shown} item(s) in {table.table}", file=sys.stderr)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    """Two users (ids 1 and 2) and a conversation between them; a second run adds nothing."""
    from application.dm import conversations, directory
    from application.shared import Actor

    deps = _container().dm.deps()
    try:
        for user_id, handle, name in SEED_USERS:
            directory.save_profile(deps, user_id, handle, name)
        if conversations.list_groups(deps, Actor(user_id=SEED_USERS[0][0])):
            print("dm: already seeded")
            return 0
        group_uuid = None
        for user_id, text in SEED_MESSAGES:
            actor = Actor(user_id=user_id)
            if group_uuid is None:
                other = next(h for uid, h, _ in SEED_USERS if uid != user_id)
                group_uuid = conversations.send_to_handle(deps, actor, other, text).group.uuid
            else:
                conversations.send_in_group(deps, actor, group_uuid, text)
    except DomainError as err:
        _print_error("parley seed dm", err)
        return 1
    handles = " and ".join(f"{h} (user {uid})" for uid, h, _ in SEED_USERS)
    print(f"dm: {handles}, conversation {group_uuid} with {len(SEED_MESSAGES)} messages")
    return 0


def save_demo_handles(deps) -> int:
    """Every demo user's directory entry (handle and name), so that they can be written to by
    handle; no conversation, so the README's walkthrough starts from none. Returns how many."""
    from application.dm import directory

    for user in DEMO_USERS:
        directory.save_profile(deps, user.user_id, user.handle, user.display_name)
    return len(DEMO_USERS)


def register(sub, seed_sub) -> None:
    dm = sub.add_parser("dm", help="direct messages")
    dm_sub = dm.add_subparsers(dest="dm_command", required=True)

    users = dm_sub.add_parser("users", help="the users directory")
    users_sub = users.add_subparsers(dest="dm_users_command", required=True)
    users_import = users_sub.add_parser("import", help="load users from JSON; validated, all or nothing")
    users_import.add_argument("file", help='JSON: {"users": [{"user_id", "handle", "display_name"}, ...]}')
    users_import.set_defaults(run=cmd_users_import)

    streams = dm_sub.add_parser("streams", help="the DynamoDB Streams consumer (aws profile)")
    streams_sub = streams.add_subparsers(dest="dm_streams_command", required=True)
    run = streams_sub.add_parser("run", help="keep group summaries current for messages written by others")
    run.add_argument("--checkpoint", default="var/dm-streams-checkpoint.json", help="where progress is kept")
    run.add_argument("--once", action="store_true", help="stop once caught up with the stream")
    run.add_argument("--poll", type=float, default=1.0, help="seconds between polls (default 1)")
    run.set_defaults(run=cmd_streams_run)

    scan = dm_sub.add_parser("scan", help="list the dm table's items (development)")
    scan.add_argument("--allow-remote", action="store_true", help="scan a table that is not on a local endpoint")
    scan.add_argument("--limit", type=int, default=1000, help="at most this many items (default 1000)")
    scan.set_defaults(run=cmd_scan)

    seed_dm = seed_sub.add_parser("dm", help="two users and a conversation")
    seed_dm.set_defaults(run=cmd_seed)
