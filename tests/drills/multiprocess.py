"""The scaled-out shape as separate OS processes (issue 22): 2 ``tideway api`` and 2 ``tideway
worker`` processes on one fresh PostgreSQL schema and one Temporal dev server, with helpers to
spread clients over both api processes, SIGKILL any process and start it again.

Nothing is shared in memory: every process reads its settings from the environment, as a
deployment's replicas do (cli/commands/server.py). The processes share the data folder, as
replicas share a volume (uploaded files)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.drills.helpers import ROOT, ChildProcess
from tests.stack import ADMIN_TOKEN, TEMPORAL_HTTP_PORT, TEST_ALLOWED_HOSTS, TEST_SECRETS_KEY

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresSchema:
    """A private schema in the test database; its URL selects it through ``options``."""

    def __init__(self) -> None:
        self.base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
        self.name = f"mp_{uuid.uuid4().hex[:12]}"

    def create(self) -> str | None:
        """The URL, or None when the server is unreachable (the drill is then skipped)."""
        import psycopg

        try:
            with psycopg.connect(self._plain(), connect_timeout=3, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.name}"')
        except Exception:
            return None
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self._plain(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def _plain(self) -> str:
        return self.base.replace("postgresql+psycopg://", "postgresql://")


class TidewayProcess(ChildProcess):
    """One ``tideway api`` or ``tideway worker`` process, SIGKILLable and restartable."""

    def __init__(self, role: str, name: str, env: dict[str, str], log: Path, port: int | None = None):
        self.role, self.name, self.env, self.log, self.port = role, name, env, log, port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.stop_timeout = 15.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**self.env, **({"TIDEWAY_PORT": str(self.port)} if self.port else {})}
        with open(self.log, "ab") as out:
            out.write(f"\n=== start {self.starts + 1} ===\n".encode())
            out.flush()
            self.process = subprocess.Popen([sys.executable, "-m", "cli.main", self.role], cwd=ROOT, env=env,
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.starts += 1


    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    """The processes, an HTTP client per api process and the shared task queue."""

    apis: list[TidewayProcess]
    workers: list[TidewayProcess]
    database_url: str
    task_queue: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, index: int) -> httpx.AsyncClient:
        """The client of api process ``index % 2``: callers alternate to spread the load."""
        return self.clients[index % len(self.clients)]

    async def wait_ready(self, timeout: float = 90.0) -> None:
        """Every api answers /healthz 200 (database, Temporal, a worker polling) and every
        worker announced it polls."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for proc in self.workers:
            while "worker polling task queue" not in proc.log.read_text(errors="replace").rsplit("=== start", 1)[-1]:
                self._check(proc, loop.time() > deadline)
                await asyncio.sleep(0.2)
        for proc, client in zip(self.apis, self.clients, strict=True):
            while True:
                self._check(proc, loop.time() > deadline)
                try:
                    if (await client.get("/healthz", timeout=5)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)

    @staticmethod
    def _check(proc: TidewayProcess, late: bool) -> None:
        if not proc.alive() or late:
            raise AssertionError(f"{proc.name} {'exited' if not proc.alive() else 'not ready'}:\n{proc.tail()}")

    async def restart(self, proc: TidewayProcess) -> None:
        proc.start()
        await self.wait_ready()

    async def import_workspace(self, document: dict[str, Any], via: int = 0, into: str | None = None) -> str:
        """Import a new workspace, or a new revision ``into`` an existing one; returns its id."""
        path = f"/v2/workspaces/{into}/import" if into else "/v2/workspaces/import"
        response = await self.client(via).post(path, json=document, headers=AUTH)
        assert response.status_code == 200, response.text
        return str(response.json()["workspace"]["id"])

    async def events(self, ws: str, types: str, via: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """Every event of these types (paged), read through api ``via``."""
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            response = await self.client(via).get(f"/v2/workspaces/{ws}/events", headers=AUTH,
                                                  params={"types": types, "limit": limit, "page": page})
            assert response.status_code == 200, response.text
            batch = response.json()["result"]["events"]
            found += batch
            if len(batch) < limit:
                return found
            page += 1

    async def runs(self, ws: str, via: int = 0, **params: str) -> list[dict[str, Any]]:
        """Every run of the runs table (issue 19), paged by 100, read through api ``via``."""
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            response = await self.client(via).get(f"/v2/workspaces/{ws}/runs", headers=AUTH,
                                                  params={**params, "limit": 100, "page": page})
            assert response.status_code == 200, response.text
            batch = response.json()["result"]["runs"]
            found += batch
            if len(batch) < 100:
                return found
            page += 1


def process_env(temporal_address: str, database_url: str, task_queue: str, data_dir: Path,
                **extra: str) -> dict[str, str]:
    """What every replica gets from its environment; the rate limits are on (a test checks them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TIDEWAY_", "RATE_LIMIT_"))}
    env.pop("DATABASE_URL", None)
    return {**env, "TEMPORAL_ADDRESS": temporal_address, "DATABASE_URL": database_url,
            "TEMPORAL_TASK_QUEUE": task_queue, "TIDEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
            "TIDEWAY_SECRETS_KEY": TEST_SECRETS_KEY, "TIDEWAY_DATA_DIR": str(data_dir),
            "TEMPORAL_HTTP_PORT": str(TEMPORAL_HTTP_PORT), "FETCH_ALLOWED_HOSTS": TEST_ALLOWED_HOSTS,
            "CUSTOM_CODE_PROCESSES": "1", **extra}


@asynccontextmanager
async def cluster(temporal_address: str, database_url: str, folder: Path, apis: int = 2, workers: int = 2,
                  **extra_env: str) -> AsyncIterator[Cluster]:
    """Start the processes (all at once, as an orchestrator does), yield once every one is ready."""
    queue = f"mp-{uuid.uuid4().hex[:8]}"
    env = process_env(temporal_address, database_url, queue, folder / "data", **extra_env)
    made = Cluster([TidewayProcess("api", f"api{i}", env, folder / f"api{i}.log", free_port()) for i in range(apis)],
                   [TidewayProcess("worker", f"worker{i}", env, folder / f"worker{i}.log") for i in range(workers)],
                   database_url, queue)
    made.clients = [httpx.AsyncClient(base_url=proc.url, timeout=90) for proc in made.apis]
    try:
        for proc in [*made.workers, *made.apis]:
            proc.start()
        await made.wait_ready()
        yield made
    finally:
        for client in made.clients:
            await client.aclose()
        for proc in [*made.apis, *made.workers]:
            proc.stop()


async def sse_lines(client: httpx.AsyncClient, method: str, url: str, into: asyncio.Queue[Any],
                    ready: asyncio.Event | None = None, **kwargs: Any) -> int:
    """Read a Server-Sent Events response: each ``data:`` line (JSON) into the queue; ``ready``
    set at the stream's first comment line (the events stream took its start point) or when
    the answer is not 200. Returns the status code."""
    async with client.stream(method, url, **kwargs) as response:
        if response.status_code != 200:
            if ready is not None:
                ready.set()
            await response.aread()
            return response.status_code
        async for line in response.aiter_lines():
            if line.startswith(":") and ready is not None:
                ready.set()
            elif line.startswith("data: "):
                await into.put(json.loads(line[6:]))
        return response.status_code
