"""Shared pieces of the failure drills (issue 9).

``make test`` runs every drill in a reduced form; ``make drills`` (TIDEWAY_DRILLS=full)
runs them at full size. Each drill records one line (``runs 100/100 exactly once``)
printed in the pytest summary.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.app import create_app
from cli.composition import build_services
from core.events.store import query_events
from core.infra.db import Database, migrate_async
from core.infra.settings import Settings
from core.services import Services
from tests.stack import TEST_SECRETS_KEY, Stack, open_stack

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("TIDEWAY_DRILLS", "").lower() == "full"
FIGURES: list[str] = []


def scale(reduced: int, full: int) -> int:
    return full if FULL else reduced


def figure(drill: str, line: str) -> None:
    """Record (and print) a drill's one-line figure."""
    text = f"{drill}: {line}"
    FIGURES.append(text)
    print(f"\nDRILL {text}", flush=True)


class ChildProcess:
    """A Tideway process a drill starts, kills -9 and stops."""

    process: subprocess.Popen[bytes] | None = None
    stop_timeout: float = 10.0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown code runs (no flush, no goodbye to Temporal)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcess(ChildProcess):
    """``tideway worker`` as its own OS process, so it can be SIGKILLed."""

    def __init__(self, address: str, database_url: str, task_queue: str, log: Path, **env: str):
        # The test clients' key: the worker decrypts the payloads they encrypt (core/infra/payload_codec.py).
        self.env = {**os.environ, "TEMPORAL_ADDRESS": address, "DATABASE_URL": database_url,
                    "TEMPORAL_TASK_QUEUE": task_queue, "RATE_LIMIT_DISABLED": "true",
                    "TIDEWAY_WORKFLOW_SANDBOX": "true", "TIDEWAY_SECRETS_KEY": TEST_SECRETS_KEY,
                    "TIDEWAY_DATA_DIR": str(log.parent / "worker-data"), **env}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], cwd=ROOT, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)



@asynccontextmanager
async def worker_services(client: Client, tmp: Path, database_url: str | None = None,
                          **worker_env: str) -> AsyncIterator[tuple[Services, WorkerProcess]]:
    """Services in this process (API side) and a worker process on a fresh task queue."""
    url = database_url or f"sqlite:///{tmp / 'drill.db'}"
    await migrate_async(url)
    db = Database(url)
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    services = build_services(Settings(database_url=url, rate_limit_disabled=True), db, client, admin_token="x",
                              task_queue=queue)
    worker = WorkerProcess(client.service_client.config.target_host, url, queue, tmp / "worker.log", **worker_env)
    try:
        yield services, worker
    finally:
        worker.stop()
        await db.dispose()


async def events_of(services: Services, ws: str, *types: str) -> list[dict[str, Any]]:
    async with services.db.session() as session:
        return await query_events(session, ws, types=list(types), limit=100_000)


async def wait_until(predicate: Any, timeout: float, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s")
        await asyncio.sleep(0.25)


@asynccontextmanager
async def answering_stack(client: Client, path: Path, **overrides: Any) -> AsyncIterator[Stack]:
    """A stack on an SQLite file whose HTTP client gets a 500 answer, like a real server, when an
    exception escapes the app (instead of the exception raised in the test)."""
    async with open_stack(client, f"sqlite:///{path}", "sqlite", **overrides) as stack:
        transport = httpx.ASGITransport(app=create_app(stack.services), raise_app_exceptions=False)
        stack.http = httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=120)
        try:
            yield stack
        finally:
            await stack.http.aclose()
