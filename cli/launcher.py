"""``tideway run``: dev server + worker + API in the foreground; Ctrl-C stops all of it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from activities.egress import EgressPolicy
from api.app import create_app
from cli.composition import build_services
from cli.examples import import_examples
from cli.gc_tuning import freeze_startup
from core.infra.db import Database, migrate_async
from core.infra.devserver import DevServer, port_busy
from core.infra.private_files import private_dir, secure_data_dir, write_private
from core.infra.settings import Settings
from core.infra.temporal import connect, register_search_attributes, tls_config
from core.runs.schedules import start_time_services
from worker.main import build_worker


def generated_file(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The value kept in ``path`` under .data/, made once (owner-only file); (value, just made)."""
    if path.exists() and path.read_text().strip():
        return path.read_text().strip(), False
    private_dir(path.parent)
    write_private(path, make() + "\n")
    return path.read_text().strip(), True


def secrets_key(settings: Settings) -> str:
    """TIDEWAY_SECRETS_KEY, else .data/secrets.key (generated once; keep it with the data). It
    encrypts workspace secrets and, through a derived key, every Temporal payload."""
    if settings.tideway_secrets_key:
        return settings.tideway_secrets_key
    from cryptography.fernet import Fernet

    return generated_file(settings.tideway_data_dir / "secrets.key", lambda: Fernet.generate_key().decode())[0]


def jwt_secret(settings: Settings) -> str:
    """TIDEWAY_JWT_SECRET (signs session and access tokens), else .data/jwt.key (generated once)."""
    if settings.tideway_jwt_secret:
        return settings.tideway_jwt_secret
    return generated_file(settings.tideway_data_dir / "jwt.key", lambda: secrets.token_urlsafe(48))[0]


@dataclass(frozen=True)
class AdminToken:
    value: str
    stored_in: Path | None  # None: it came from TIDEWAY_ADMIN_TOKEN
    generated: bool  # made by this start: the only time it is printed

    def describe(self) -> str:
        """The banner's line: the token itself only when just generated, else where it is kept."""
        if self.stored_in is None:
            return "from TIDEWAY_ADMIN_TOKEN (not printed)"
        if self.generated:
            return f"{self.value}  (generated, stored in {self.stored_in}; printed this once)"
        return f"stored in {self.stored_in} (not printed)"


def admin_token(settings: Settings) -> AdminToken:
    """The superadmin token: TIDEWAY_ADMIN_TOKEN, else .data/admin-token (made once)."""
    if settings.tideway_admin_token:
        return AdminToken(settings.tideway_admin_token, None, False)
    path = settings.tideway_data_dir / "admin-token"
    value, generated = generated_file(path, lambda: secrets.token_urlsafe(32))
    return AdminToken(value, path, generated)


def prepare_data_dir(settings: Settings) -> None:
    """The data dir 0700 and its files 0600, including those an older version left readable."""
    narrowed = secure_data_dir(settings.tideway_data_dir)
    if narrowed:
        print(f"tideway: removed group/other permissions from {len(narrowed)} path(s) under "
              f"{settings.tideway_data_dir} (data files are owner-only)", flush=True)


def dev_server_args(settings: Settings) -> list[str]:
    """Extra ``temporal server start-dev`` flags: the Web UI decodes payloads through Tideway's
    codec endpoint (superadmins only, see docs/history-encryption.md)."""
    return ["--ui-codec-endpoint", codec_endpoint(settings)]


def codec_endpoint(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/codec"


def check_ports(settings: Settings, dev_server: bool) -> list[str]:
    wanted = [(settings.tideway_host, settings.tideway_port, "TIDEWAY_PORT (API)")]
    if dev_server:
        wanted += [("127.0.0.1", 7233, "Temporal frontend"), ("127.0.0.1", settings.temporal_ui_port, "Temporal UI"),
                   ("127.0.0.1", settings.temporal_http_port, "TEMPORAL_HTTP_PORT (Temporal HTTP API)")]
    return [f"port {port} ({what}) on {host} is already in use" for host, port, what in wanted if port_busy(host, port)]


def banner(settings: Settings, token: AdminToken, curl: str | None, ui: str | None) -> str:
    lines = ["", "Tideway is running.",
             f"  API docs     {settings.public_url}/docs"]
    if ui:
        lines.append(f"  Temporal UI  {ui}  (payloads are encrypted; the UI decodes them through "
                     f"{codec_endpoint(settings)} for a superadmin, see docs/history-encryption.md)")
    lines.append(f"  Admin token  {token.describe()}")
    if curl:
        lines += ["  Try it:", f"    {curl}"]
    lines.append("Press Ctrl-C to stop.\n")
    return "\n".join(lines)


async def serve(settings: Settings) -> int:
    dev = settings.temporal_address is None
    EgressPolicy.from_settings(settings)  # an invalid FETCH_ALLOWED_HOSTS fails before anything starts
    tls = False if dev else tls_config(settings)  # the dev server speaks plain gRPC
    problems = check_ports(settings, dev)
    if problems:
        print("tideway: cannot start: " + "; ".join(problems) + ". Stop what uses them or change the settings.",
              file=sys.stderr)
        return 2
    prepare_data_dir(settings)
    # One key for the secret store and the Temporal payload codec of this process.
    key = secrets_key(settings)
    settings = settings.model_copy(update={"tideway_secrets_key": key, "tideway_jwt_secret": jwt_secret(settings)})
    server = DevServer(settings.tideway_data_dir, ui_port=settings.temporal_ui_port,
                       http_port=settings.temporal_http_port, extra_args=dev_server_args(settings)) if dev else None
    try:
        if server:
            print("Starting the Temporal dev server…", flush=True)
            await asyncio.to_thread(server.start)
        address = server.address if server else settings.resolved_temporal_address
        await migrate_async(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        client = await connect(address, settings.temporal_namespace, secrets_key=key, tls=tls)
        await register_search_attributes(client, settings.temporal_namespace)
        token = admin_token(settings)
        services = build_services(settings, db, client, admin_token=token.value)
        assert services.workspaces.secrets is not None
        await services.workspaces.secrets.check_key()  # a lost key is a clear start-up error
        services.launcher.eager = True  # api and worker share this process
        curl = await import_examples(services, Path("examples"))
        worker, resources = build_worker(services)
        config = uvicorn.Config(create_app(services), host=settings.tideway_host, port=settings.tideway_port,
                                http="httptools",
                                log_level="warning", lifespan="off")
        api = uvicorn.Server(config)
        freeze_startup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker_task = asyncio.create_task(worker.run())
        time_task = asyncio.create_task(start_time_services(services.schedules))  # schedules + retention
        api_task = asyncio.create_task(api.serve())
        ui = f"http://127.0.0.1:{settings.temporal_ui_port}" if server else None
        print(banner(settings, token, curl, ui), flush=True)
        await stop.wait()
        print("Stopping…", flush=True)
        api.should_exit = True
        await api_task
        time_task.cancel()
        await worker.shutdown()
        with contextlib.suppress(Exception):
            await worker_task
        await resources.aclose()
        await db.dispose()
        return 0
    finally:
        if server:
            await asyncio.to_thread(server.stop)
