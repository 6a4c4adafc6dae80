"""The `parley` command line (DESIGN.md §4.3)."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence

from entrypoints.cli import demo as demo_cli
from entrypoints.cli import dm as dm_cli
from entrypoints.cli import seed_chat, seed_live, seed_social

Command = Callable[[argparse.Namespace], int]


class _RedactQueryStrings(logging.Filter):
    """Werkzeug's access log prints request lines, and websocket tokens travel in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = tuple(_strip_query(a) if isinstance(a, str) else a for a in (record.args or ()))
        return True


def _strip_query(text: str) -> str:
    return re.sub(r"\?[^ \"]*", "?…", text)


def cmd_serve(args: argparse.Namespace) -> int:
    from entrypoints.cli.demo import demo_refusal, seed_on_first_start
    from entrypoints.settings import exit_on_bad_settings

    if args.demo:  # before the settings, whose complaints would not be the point
        refusal = demo_refusal(os.environ.get("PARLEY_PROFILE") or "embedded", "parley serve --demo")
        if refusal:
            print(refusal, file=sys.stderr)
            return 2
    exit_on_bad_settings(program="parley serve")
    logging.getLogger("werkzeug").addFilter(_RedactQueryStrings())
    app = create_app_or_exit("parley serve")
    if args.demo:
        seed_on_first_start(app.container)
    print(f"Parley on http://{args.host}:{args.port} (development server)", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=False, threaded=True)
    return 0


def create_app_or_exit(program: str, exit_code: int = 2):
    """The app, or one line and an exit when its settings cannot start it (a key that does not
    parse, a database that cannot be opened): what the settings check could not see."""
    from sqlalchemy.exc import SQLAlchemyError

    from entrypoints.http.app import create_app

    try:
        return create_app()
    except (ValueError, OSError, SQLAlchemyError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"{program}: cannot start: {message}", file=sys.stderr)
        raise SystemExit(exit_code) from None


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"a TCP port from 1 to 65535, not {text!r}")
    return int(text)


def _dev_server_address(environ) -> tuple[str, int]:
    """The development server listens where gunicorn would (PARLEY_BIND), unless told otherwise."""
    bind_host, _, bind_port = environ.get("PARLEY_BIND", "").rpartition(":")
    host = environ.get("PARLEY_HOST") or bind_host or "127.0.0.1"
    raw_port = environ.get("PARLEY_PORT") or bind_port or "8000"
    try:
        return host, _port(raw_port)
    except argparse.ArgumentTypeError:
        return host, 8000  # the settings check names the bad PARLEY_PORT / PARLEY_BIND before anything listens


def _duration(text: str):
    """'3600', '90s', '30m', '12h' or '7d' as a timedelta."""
    from datetime import timedelta

    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError("a positive duration such as 3600, 30m, 12h or 7d")
    unit = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def _user_id(text: str) -> int:
    from domain.shared import DomainError, parse_id

    try:
        return parse_id(text, "user")
    except DomainError:
        raise argparse.ArgumentTypeError("a positive 64-bit integer") from None


def cmd_token(args: argparse.Namespace) -> int:
    """Print a development JWT signed with the configured PARLEY_JWT_SECRET or PARLEY_JWT_PRIVATE_KEY_FILE."""
    # What the container's token_minter is, without importing the container (every adapter):
    # scripts/token runs once per user in every walkthrough, and starts in a fraction of the time.
    from adapters.auth.jwt import DevTokenMinter, JwtSettings
    from application.shared import SystemClock
    from entrypoints.settings import parley_settings

    scopes = tuple(dict.fromkeys(s for group in args.scope for s in group.split()))
    if args.user is None and not scopes:
        print("parley token: give --user, --scope, or both", file=sys.stderr)
        return 2
    try:
        minter = DevTokenMinter(JwtSettings.from_settings(parley_settings(os.environ)), SystemClock())
        token = minter.mint(args.user, scopes, args.ttl)
    except ValueError as err:
        print(f"parley token: {err}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_dynamodb_create_tables(args: argparse.Namespace) -> int:
    """Create the DynamoDB tables (PARLEY_DYNAMODB_ENDPOINT_URL, PARLEY_DYNAMODB_TABLE_PREFIX) if missing."""
    from adapters.dynamodb.client import ADMIN_CLIENT_CONFIG, DynamoDbSettings, make_client
    from adapters.dynamodb.dm import create_dm_table, dm_table_name
    from adapters.dynamodb.tables import create_tables, table_definitions
    from container import settings_from_env

    configured = settings_from_env()
    settings = DynamoDbSettings.from_settings(configured)
    sessions_table = configured.get("dynamodb_sessions_table")
    client = make_client(settings, ADMIN_CLIENT_CONFIG)
    created = set(create_tables(client, settings.table_prefix, sessions_table=sessions_table))
    for definition in table_definitions(settings.table_prefix, sessions_table):
        name = definition["TableName"]
        print(f"{name}: {'created' if name in created else 'already exists'}")
    dm_table = dm_table_name(configured)
    print(f"{dm_table}: {'created' if create_dm_table(client, table_name=dm_table) else 'already exists'}")
    return 0


def _sql_engine(settings):
    """The database at PARLEY_DATABASE_URL; an SQLite file is created and migrated as the embedded profile does."""
    from adapters.sql.engine import create_engine
    from adapters.sql.migrate import open_embedded_database

    url = settings["database_url"]
    return open_embedded_database(url) if url.startswith("sqlite") else create_engine(url)


def _safe_url(engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Migrate the database at PARLEY_DATABASE_URL to the newest schema (Alembic)."""
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.sql.engine import create_engine
    from adapters.sql.migrate import current_revision, upgrade
    from container import settings_from_env

    try:
        engine = create_engine(settings_from_env()["database_url"])
        try:
            upgrade(engine)
            print(f"{_safe_url(engine)}: schema at revision {current_revision(engine)}")
        finally:
            engine.dispose()
    except (ValueError, SQLAlchemyError) as err:
        print(f"parley db upgrade: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_grants_import(args: argparse.Namespace) -> int:
    """Load a grants document (memberships, item_permissions, managers, validated) into PARLEY_DATABASE_URL."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from adapters.grants_document import InvalidGrantsDocument, parse_grants_document
    from adapters.sql.migrate import current_revision, head_revision
    from adapters.sql.permissions import import_grants
    from container import settings_from_env

    settings = settings_from_env()
    refusal = _grants_import_refusal(settings)
    if refusal:
        print(f"parley grants import: {refusal}", file=sys.stderr)
        return 2
    try:
        with open(args.file, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as err:
        print(f"parley grants import: cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    try:
        parse_grants_document(doc)  # checked whole before the database is opened: nothing half-imported
    except InvalidGrantsDocument as err:
        print(f"parley grants import: invalid document: {err}", file=sys.stderr)
        return 2
    try:
        engine = _sql_engine(settings)
        try:
            if current_revision(engine) != head_revision():
                print("parley grants import: the schema is not current: run `parley db upgrade` first", file=sys.stderr)
                return 1
            counts = import_grants(engine, doc)
        finally:
            engine.dispose()
    except SQLAlchemyError as err:
        print(f"parley grants import: {err}", file=sys.stderr)
        return 1
    print(", ".join(f"{name}: {count}" for name, count in counts.items()))
    _publish_access_recheck("parley grants import")
    return 0


def _grants_import_refusal(settings) -> str | None:
    """Grant tables are read only by the SQL profiles with PARLEY_GRANTS=tables (or sql)."""
    if settings["profile"] not in ("embedded", "postgres", "algorea"):
        return (
            f"PARLEY_PROFILE={settings['profile']} keeps no SQL grant tables; import into a SQL profile "
            "(embedded, postgres, algorea)"
        )
    named = os.environ.get("PARLEY_GRANTS")
    if named is not None and named not in ("tables", "sql"):
        return (
            f"PARLEY_GRANTS={named} does not read the grant tables, so the import would change nothing; "
            "set PARLEY_GRANTS=tables (or leave it unset)"
        )
    return None


def cmd_directory_import(args: argparse.Namespace) -> int:
    """Load an AlgoREA directory document (items, users: what the thread list shows of them) into
    PARLEY_DATABASE_URL; validated whole first, stored in one transaction, importing again changes nothing."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from adapters.directory_document import InvalidDirectoryDocument, parse_directory_document
    from adapters.sql.algorea import SqlDirectory
    from adapters.sql.migrate import current_revision, head_revision
    from container import SQL_PROFILES, settings_from_env

    settings = settings_from_env()
    if settings["profile"] not in (*SQL_PROFILES, "aws"):
        print(
            f"parley directory import: PARLEY_PROFILE={settings['profile']} keeps nothing between runs; import "
            "into embedded, postgres, algorea (SQL) or aws (DynamoDB)",
            file=sys.stderr,
        )
        return 2
    try:
        with open(args.file, encoding="utf-8") as handle:
            items, users = parse_directory_document(json.load(handle))
    except (OSError, ValueError) as err:
        if isinstance(err, InvalidDirectoryDocument):
            print(f"parley directory import: invalid document: {err}", file=sys.stderr)
        else:
            print(f"parley directory import: cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    if settings["profile"] == "aws":
        return _import_directory_into_dynamodb(settings, items, users)
    try:
        engine = _sql_engine(settings)
        try:
            if current_revision(engine) != head_revision():
                print("parley directory import: the schema is not current: run `parley db upgrade` first",
                      file=sys.stderr)
                return 1
            item_count, user_count = SqlDirectory(engine).import_entries(items, users)
        finally:
            engine.dispose()
    except SQLAlchemyError as err:
        print(f"parley directory import: {err}", file=sys.stderr)
        return 1
    print(f"items: {item_count}, users: {user_count}")
    return 0


def _import_directory_into_dynamodb(settings, items, users) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from adapters.dynamodb.algorea import DynamoDbDirectory
    from adapters.dynamodb.forum import DynamoDbForum
    from application.shared import BackendUnavailable

    try:
        item_count, user_count = DynamoDbDirectory(DynamoDbForum.from_settings(settings)).import_entries(items, users)
    except (BotoCoreError, ClientError, BackendUnavailable) as err:
        print(f"parley directory import: {err} (importing again completes it)", file=sys.stderr)
        return 1
    print(f"items: {item_count}, users: {user_count}")
    return 0


def cmd_grants_recheck(args: argparse.Namespace) -> int:
    """Tell every server's open websockets to re-check their readers' access now (after grants
    were changed outside Parley, for example by SQL); without it they re-check within 30 s."""
    return 0 if _publish_access_recheck("parley grants recheck") else 1


def _publish_access_recheck(command: str) -> bool:
    """Through the configured fan-out (PARLEY_FANOUT=redis reaches every server process)."""
    from application.forum.topics import access_recheck_publication
    from container import Container, settings_from_env
    from entrypoints.ws.endpoint import RECHECK_SECONDS

    settings = settings_from_env()
    if settings.get("fanout") != "redis":
        print(f"{command}: no shared fan-out (PARLEY_FANOUT={settings.get('fanout')}): open websockets "
              f"re-check access within {RECHECK_SECONDS} s", file=sys.stderr)
        return True
    container = Container()
    container.config.from_dict(settings)
    try:
        container.core.notifier().publish([access_recheck_publication()])
    except Exception as err:  # the grants are stored either way; only the prompt re-check is lost
        print(f"{command}: could not publish the access re-check ({err}); open websockets re-check "
              f"within {RECHECK_SECONDS} s", file=sys.stderr)
        return False
    print("access re-check published to open websockets")
    return True


def cmd_dynamodb_relay(args: argparse.Namespace) -> int:
    """Publish to DynamoDB what the algorea profile's outbox holds and DynamoDB lacks (after a crash)."""
    from datetime import UTC, datetime

    from adapters.dynamodb.outbox import OutboxRelay
    from container import Container, settings_from_env

    settings = settings_from_env()
    if settings["profile"] != "algorea":
        print("parley dynamodb relay: only the algorea profile has an outbox", file=sys.stderr)
        return 2
    container = Container()
    container.config.from_dict(settings)
    relay = OutboxRelay(container.core.sql_engine(), container.forum.table())
    copied = relay.relay_recent(datetime.now(UTC) - args.since)
    print(f"relayed {copied} event(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="parley", description="Parley messaging back end")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the development server")
    host, port = _dev_server_address(os.environ)
    serve.add_argument("--host", default=host, help="default: PARLEY_HOST, else PARLEY_BIND's host, else 127.0.0.1")
    serve.add_argument("--port", type=_port, default=port, help="default: PARLEY_PORT, PARLEY_BIND's port, 8000")
    serve.add_argument("--demo", action="store_true",
                       help="put the demo's users, grants and rooms in a database that has no grants yet (embedded)")
    serve.set_defaults(run=cmd_serve)

    token = sub.add_parser("token", help="mint a development JWT with the configured key or secret")
    token.add_argument("--user", type=_user_id, help="user id (the sub claim); omit for a service token")
    token.add_argument("--scope", action="append", default=[], help="scope(s), e.g. forum:events; repeatable")
    token.add_argument("--ttl", type=_duration, default="12h", help="lifetime: seconds, or 30m, 12h, 7d (default 12h)")
    token.set_defaults(run=cmd_token)

    dynamodb = sub.add_parser("dynamodb", help="DynamoDB administration")
    dynamodb_sub = dynamodb.add_subparsers(dest="dynamodb_command", required=True)
    create_tables = dynamodb_sub.add_parser("create-tables", help="create the tables that do not exist yet")
    create_tables.set_defaults(run=cmd_dynamodb_create_tables)
    relay = dynamodb_sub.add_parser("relay", help="publish outbox events DynamoDB lacks (algorea profile)")
    relay.add_argument("--since", type=_duration, default="1d", help="look back this far (default 1d)")
    relay.set_defaults(run=cmd_dynamodb_relay)

    db = sub.add_parser("db", help="SQL database administration (PARLEY_DATABASE_URL)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_sub.add_parser("upgrade", help="migrate the database to the newest schema")
    db_upgrade.set_defaults(run=cmd_db_upgrade)

    grants = sub.add_parser("grants", help="Parley's own grant tables (PARLEY_DATABASE_URL)")
    grants_sub = grants.add_subparsers(dest="grants_command", required=True)
    grants_import = grants_sub.add_parser("import", help="load a grants JSON document; importing again changes nothing")
    grants_import.add_argument("file", help="JSON: {memberships, item_permissions, managers, validated}")
    grants_import.set_defaults(run=cmd_grants_import)
    grants_recheck = grants_sub.add_parser(
        "recheck", help="make open websockets re-check access now (after changing grants outside Parley)"
    )
    grants_recheck.set_defaults(run=cmd_grants_recheck)

    directory = sub.add_parser("directory", help="AlgoREA's directory of items and users (PARLEY_DATABASE_URL)")
    directory_sub = directory.add_subparsers(dest="directory_command", required=True)
    directory_import = directory_sub.add_parser(
        "import", help="load a directory JSON document (all or nothing); importing again changes nothing"
    )
    directory_import.add_argument("file", help="JSON: {items: [{id, type, title, language_tag}], users: [{id, login, "
                                               "first_name, last_name, show_personal_info}]}")
    directory_import.set_defaults(run=cmd_directory_import)

    seed = sub.add_parser("seed", help="demo data for one context, on the configured profile")
    seed_sub = seed.add_subparsers(dest="seed_context", required=True)
    seed_social.register(seed_sub)
    seed_chat.add_parser(seed_sub)
    seed_live.add_parser(seed_sub)
    dm_cli.register(sub, seed_sub)
    demo_cli.register(sub)
    return parser


class OneLineParser(argparse.ArgumentParser):
    """A mistyped command or argument is one line on stderr (with the nearest command, when there
    is one), exit code 2, rather than the usage text."""

    def error(self, message: str):
        choices = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choices:
            words = re.findall(r"'?([\w-]+)'?", choices.group(2))
            close = difflib.get_close_matches(choices.group(1), words, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(words)}"
            message = f"{choices.group(1)!r} is not a command: {hint}"
        elif re.search(r"required: \w*command\b", message) and self._subparsers is not None:
            words = [w for action in self._subparsers._group_actions for w in (action.choices or {})]
            message = f"a command is needed: one of {', '.join(words)}"
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# What a command's configuration or backend can raise that is the user's to fix, as one line.
def _user_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    from sqlalchemy.exc import SQLAlchemyError

    from application.shared import BackendUnavailable

    return (ValueError, OSError, SQLAlchemyError, BotoCoreError, ClientError, BackendUnavailable)


def main(argv: Sequence[str] | None = None) -> int:
    from entrypoints.settings import exit_on_bad_settings

    parser = build_parser()
    args = parser.parse_args(argv)
    refused = args.refuse() if hasattr(args, "refuse") else None  # before the settings (parley demo)
    if refused:
        return refused
    if args.run is not cmd_serve:  # serve checks the server's settings too
        exit_on_bad_settings(program=f"parley {args.command}", server=False)
    try:
        return args.run(args)
    except _user_errors() as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if type(err).__name__ == "NoCredentialsError":
            message += ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (DynamoDB Local takes any values)"
        print(f"parley {args.command}: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
