"""The server side of ``tideway``: run, api, worker, register-search-attributes, migrate,
retention and users. These run Tideway in this process (or work on its database) and import
the server code only when called, so the client commands start fast.

A start-up problem (a lost secrets key, bad settings) is a ``TidewayError``: cli/app.py prints
it as ``tideway: <message>`` and exits 2, as these commands always have."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer

from cli.connection import JsonOption
from cli.gc_tuning import freeze_startup, server_gc
from cli.output import print_json
from core.infra.settings import Settings, get_settings

# The commands Typer registers on the main app (cli/app.py); `users` is a group of its own.
users_app = typer.Typer(help="Manage users (issue 6).", no_args_is_help=True)


async def connected(settings: Settings) -> tuple[Settings, Any]:
    """What an api or worker process does first: its data folder, its secrets key (workspace
    secrets and the Temporal payload codec), the database migrated, the Temporal client."""
    from cli.launcher import prepare_data_dir, secrets_key
    from core.infra.db import migrate_async
    from core.infra.temporal import connect, tls_config

    tls = tls_config(settings)
    prepare_data_dir(settings)
    key = secrets_key(settings)
    settings = settings.model_copy(update={"tideway_secrets_key": key})
    await migrate_async(settings.resolved_database_url)
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace, secrets_key=key, tls=tls)
    return settings, client


async def run_worker() -> int:
    from activities.egress import EgressPolicy
    from cli.composition import build_services
    from core.infra.db import Database
    from core.infra.temporal import register_search_attributes
    from worker.main import build_worker

    settings = get_settings()
    EgressPolicy.from_settings(settings)  # an invalid FETCH_ALLOWED_HOSTS fails before anything starts
    settings, client = await connected(settings)
    added = await register_search_attributes(client, settings.temporal_namespace)
    if added:
        print(f"registered search attributes: {', '.join(added)}")
    db = Database(settings.resolved_database_url)
    services = build_services(settings, db, client, admin_token=None)
    assert services.workspaces.secrets is not None
    await services.workspaces.secrets.check_key()  # a lost key is a clear start-up error
    worker, resources = build_worker(services)
    freeze_startup()
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
    from cli.launcher import admin_token
    from core.infra.db import Database

    settings, client = await connected(get_settings())
    token = admin_token(settings)
    if token.generated:
        print(f"admin token {token.describe()}", flush=True)
    services = build_services(settings, Database(settings.resolved_database_url), client, admin_token=token.value)
    if services.workspaces.secrets is not None:
        await services.workspaces.secrets.check_key()
    server = uvicorn.Server(uvicorn.Config(create_app(services), host=settings.tideway_host,
                                           port=settings.tideway_port, log_level="info"))
    freeze_startup()
    await server.serve()
    return 0


async def register_only(as_json: bool = False) -> int:
    from cli.launcher import secrets_key
    from core.infra.temporal import connect, register_search_attributes, tls_config

    settings = get_settings()
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace,
                           secrets_key=secrets_key(settings), tls=tls_config(settings))
    added = await register_search_attributes(client, settings.temporal_namespace)
    if as_json:
        print_json({"added": list(added)})
    else:
        print("search attributes: " + (f"added {', '.join(added)}" if added else "already registered"))
    return 0


async def retention_report(settings: Settings, dry_run: bool, as_json: bool) -> int:
    """The retention pass in this process (same rules and code as the scheduled
    RetentionWorkflow); a dry run prints what would go."""
    from core.events.retention import RetentionPolicy, run_retention
    from core.infra.db import Database, migrate_async

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


async def create_user(email: str, password: str | None, superadmin: bool = False, as_json: bool = False) -> int:
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
    if as_json:
        print_json({"id": user.id, "email": email, "superadmin": superadmin})
    else:
        print(user.id)
    return 0


def fast_event_loop() -> None:
    """uvloop when installed (it is a dependency): a cheaper event loop for the API and worker."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def long_running() -> None:
    fast_event_loop()
    server_gc()


def run() -> int:
    """Dev server + worker + API in the foreground (make run)."""
    from cli.launcher import serve

    long_running()
    return asyncio.run(serve(get_settings()))


def api() -> int:
    """The API only (needs TEMPORAL_ADDRESS and a worker)."""
    long_running()
    return asyncio.run(run_api())


def worker() -> int:
    """A worker only (registers search attributes first)."""
    long_running()
    return asyncio.run(run_worker())


def register_search_attributes_command(as_json: JsonOption = False) -> int:
    """Register WorkspaceId/AutomationSlug/CorrelationId."""
    return asyncio.run(register_only(as_json))


def migrate(as_json: JsonOption = False) -> int:
    """Apply database migrations."""
    from core.infra.db import migrate as apply

    apply(get_settings().resolved_database_url)
    if as_json:
        print_json({"migrated": True})
    return 0


def retention(dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be deleted, delete nothing")]
              = False, as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False) -> int:
    """Apply the events retention rules now (see docs/time.md)."""
    return asyncio.run(retention_report(get_settings(), dry_run, as_json))


@users_app.command("create")
def users_create(email: Annotated[str, typer.Argument(metavar="EMAIL")],
                 password: Annotated[str | None, typer.Option(help="the password (prompted when not given)")] = None,
                 superadmin: Annotated[bool, typer.Option("--superadmin", help="make the user a superadmin")] = False,
                 as_json: JsonOption = False) -> int:
    """Create a user and print its id."""
    return asyncio.run(create_user(email, password, superadmin, as_json))


PANEL = "Server"


def register(app: typer.Typer) -> None:
    app.command("run", rich_help_panel=PANEL)(run)
    app.command("api", rich_help_panel=PANEL)(api)
    app.command("worker", rich_help_panel=PANEL)(worker)
    app.command("register-search-attributes", rich_help_panel=PANEL)(register_search_attributes_command)
    app.command("migrate", rich_help_panel=PANEL)(migrate)
    app.command("retention", rich_help_panel=PANEL)(retention)
    app.add_typer(users_app, name="users", rich_help_panel=PANEL)
