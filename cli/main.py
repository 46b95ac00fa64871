"""The ``tideway`` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys

from cli.runs import add_runs_parser, run_runs_command
from core.infra.settings import get_settings
from schemas.errors import TidewayError


async def run_worker() -> int:
    from activities.egress import EgressPolicy
    from cli.composition import build_services
    from cli.launcher import prepare_data_dir, secrets_key
    from core.infra.db import Database, migrate_async
    from core.infra.temporal import connect, register_search_attributes, tls_config
    from worker.main import build_worker

    settings = get_settings()
    EgressPolicy.from_settings(settings)  # an invalid FETCH_ALLOWED_HOSTS fails before anything starts
    tls = tls_config(settings)
    prepare_data_dir(settings)
    key = secrets_key(settings)  # workspace secrets and the Temporal payload codec
    settings = settings.model_copy(update={"tideway_secrets_key": key})
    await migrate_async(settings.resolved_database_url)
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace, secrets_key=key,
                           tls=tls)
    added = await register_search_attributes(client, settings.temporal_namespace)
    if added:
        print(f"registered search attributes: {', '.join(added)}")
    db = Database(settings.resolved_database_url)
    services = build_services(settings, db, client, admin_token=None)
    assert services.workspaces.secrets is not None
    await services.workspaces.secrets.check_key()  # a lost key is a clear start-up error
    worker, resources = build_worker(services)
    print(f"worker polling task queue '{settings.temporal_task_queue}' on {settings.resolved_temporal_address}")
    from core.runs.schedules import start_time_services

    assert resources.schedules is not None
    time_services = asyncio.create_task(start_time_services(resources.schedules))  # noqa: F841 - runs beside
    try:
        await worker.run()
    finally:
        await resources.aclose()
        await db.dispose()
    return 0


async def run_api() -> int:
    import uvicorn

    from api.app import create_app
    from cli.composition import build_services
    from cli.launcher import admin_token, prepare_data_dir, secrets_key
    from core.infra.db import Database, migrate_async
    from core.infra.temporal import connect, tls_config

    settings = get_settings()
    tls = tls_config(settings)
    prepare_data_dir(settings)
    key = secrets_key(settings)  # workspace secrets and the Temporal payload codec
    settings = settings.model_copy(update={"tideway_secrets_key": key})
    await migrate_async(settings.resolved_database_url)
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace, secrets_key=key,
                           tls=tls)
    token = admin_token(settings)
    if token.generated:
        print(f"admin token {token.describe()}", flush=True)
    services = build_services(settings, Database(settings.resolved_database_url), client, admin_token=token.value)
    if services.workspaces.secrets is not None:
        await services.workspaces.secrets.check_key()
    server = uvicorn.Server(uvicorn.Config(create_app(services), host=settings.tideway_host,
                                           port=settings.tideway_port, log_level="info"))
    await server.serve()
    return 0


async def register_only() -> int:
    from cli.launcher import secrets_key
    from core.infra.temporal import connect, register_search_attributes, tls_config

    settings = get_settings()
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace,
                           secrets_key=secrets_key(settings), tls=tls_config(settings))
    added = await register_search_attributes(client, settings.temporal_namespace)
    print("search attributes: " + (f"added {', '.join(added)}" if added else "already registered"))
    return 0


async def run_retention_command(dry_run: bool, as_json: bool) -> int:
    """``tideway retention [--dry-run]``: the retention pass in this process (same rules and
    code as the scheduled RetentionWorkflow); a dry run prints what would go."""
    import json

    from core.events.retention import RetentionPolicy, run_retention
    from core.infra.db import Database, migrate_async

    settings = get_settings()
    await migrate_async(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        result = await run_retention(db, RetentionPolicy.from_settings(settings), dry_run=dry_run, full=True)
    finally:
        await db.dispose()
    if as_json:
        print(json.dumps(result, indent=2))
        return 0
    verb = "would delete" if dry_run else "deleted"
    print(f"retention ({'dry run' if dry_run else 'applied'} at {result['startedAt']}):")
    print(f"  {verb} {result['expiredEvents']} event(s) older than {settings.events_retention_days} days")
    for key, label in (("inactiveWorkspaces", "inactive small workspace(s)"),
                       ("deletedWorkspaces", "workspace(s) deleted more than "
                                             f"{settings.events_scheduled_deletion_days} days ago")):
        part = result[key]
        print(f"  {verb} {part['events']} event(s) of {part['workspaces']} {label}"
              + (f": {', '.join(part['ids'])}" if part["ids"] else ""))
    print(f"  total: {result['total']} event(s) in {result['durationMs']} ms")
    return 0


async def create_user_command(email: str, password: str | None, superadmin: bool = False) -> int:
    """``tideway users create <email> [--password P]``: prints the new user's id."""
    from core.access.identity import IdentityService
    from core.infra.db import Database, migrate_async

    if password is None:
        import getpass

        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("tideway: the passwords differ", file=sys.stderr)
            return 2
    settings = get_settings()
    await migrate_async(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        user = await IdentityService(db, settings).create_user(email, password, superadmin=superadmin)
    finally:
        await db.dispose()
    print(user.id)
    return 0


def fast_event_loop() -> None:
    """uvloop when installed (it is a dependency): a cheaper event loop for the API and worker."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def server_gc() -> None:
    """Fewer garbage-collector passes for the long-running processes: every request allocates
    thousands of short-lived objects (pydantic, protobuf, JSON) that reference counting frees
    anyway, and the default gen-0 threshold (700) makes the collector rescan young objects
    hundreds of times a second under load. What is loaded at start is frozen out of the scans."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tideway", description="Tideway workflow-automation backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="dev server + worker + API in the foreground (make run)")
    sub.add_parser("api", help="the API only (needs TEMPORAL_ADDRESS and a worker)")
    sub.add_parser("worker", help="a worker only (registers search attributes first)")
    sub.add_parser("register-search-attributes", help="register WorkspaceId/AutomationSlug/CorrelationId")
    sub.add_parser("migrate", help="apply database migrations")
    retention = sub.add_parser("retention", help="apply the events retention rules now (see docs/time.md)")
    retention.add_argument("--dry-run", action="store_true", help="print what would be deleted, delete nothing")
    retention.add_argument("--json", action="store_true", help="print the report as JSON")
    users = sub.add_parser("users", help="manage users (issue 6)")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    users_create = users_sub.add_parser("create", help="create a user and print its id")
    users_create.add_argument("email")
    users_create.add_argument("--password", help="the password (prompted when not given)")
    users_create.add_argument("--superadmin", action="store_true", help="make the user a superadmin")
    add_runs_parser(sub)
    args = parser.parse_args(argv)
    if args.command in ("run", "api", "worker"):
        fast_event_loop()
        server_gc()
    try:
        code = dispatch(args)
    except TidewayError as exc:  # e.g. a lost secrets key: a clear message, never a traceback
        print(f"tideway: {exc.message}", file=sys.stderr)
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    # A temporalio client still alive at interpreter exit can abort the process (sdk-python #300).
    os._exit(code)


def dispatch(args: argparse.Namespace) -> int:
    code: int
    if args.command == "run":
        from cli.launcher import serve

        code = asyncio.run(serve(get_settings()))
    elif args.command == "api":
        code = asyncio.run(run_api())
    elif args.command == "worker":
        code = asyncio.run(run_worker())
    elif args.command == "register-search-attributes":
        code = asyncio.run(register_only())
    elif args.command == "retention":
        code = asyncio.run(run_retention_command(args.dry_run, args.json))
    elif args.command == "users":
        code = asyncio.run(create_user_command(args.email, args.password, args.superadmin))
    elif args.command == "runs":
        code = run_runs_command(args)
    else:
        from core.infra.db import migrate

        migrate(get_settings().resolved_database_url)
        code = 0
    return code


if __name__ == "__main__":
    main()
