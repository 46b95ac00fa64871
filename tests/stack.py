"""A whole Tideway stack for tests: real Temporal, real database, worker, API over ASGI."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from cli.composition import build_services
from core.infra.db import Database, migrate_async
from core.infra.settings import Settings
from core.services import Services
from tests.conformance.http_stub import free_port
from worker.main import build_worker

ADMIN_TOKEN = "test-admin-token"
TEST_SECRETS_KEY = "tG3dRHb-wi9C5sSm0p8XoQBo3fjU2nB2cXOw1SwH3Wc="  # a fixed Fernet key for tests
# The suite's local HTTP servers listen on loopback: the stacks' egress policy admits it, while
# the own-service rule still refuses the test Temporal server (frontend and HTTP API ports).
TEST_ALLOWED_HOSTS = "127.0.0.1,localhost"
# The test dev server's HTTP API port (tests/conftest.py starts it with --http-port), fixed so the
# stacks' egress policy knows it.
TEMPORAL_HTTP_PORT = free_port()


@dataclass
class Stack:
    services: Services
    worker: Worker
    http: httpx.AsyncClient
    backend: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {ADMIN_TOKEN}"}

    async def import_workspace(self, document: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post("/v2/workspaces/import", json=document, headers=self.auth)
        assert response.status_code == 200, response.text
        workspace: dict[str, Any] = response.json()["workspace"]
        return workspace

    async def events(self, workspace_id: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.http.get(f"/v2/workspaces/{workspace_id}/events", params=params, headers=self.auth)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["result"]["events"]
        return events


async def _wait_for_pollers(client: Client, task_queue: str, timeout: float = 15.0) -> None:
    """A stack is ready once its worker polls (what /healthz checks too)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        if described.pollers:
            return
        await asyncio.sleep(0.05)


@asynccontextmanager
async def open_stack(client: Client, database_url: str, backend: str, **overrides: Any) -> AsyncIterator[Stack]:
    # Tests always run workflow code in the sandbox: it catches non-deterministic changes.
    overrides.setdefault("tideway_workflow_sandbox", True)
    overrides.setdefault("tideway_secrets_key", TEST_SECRETS_KEY)
    overrides.setdefault("temporal_address", client.service_client.config.target_host)
    overrides.setdefault("temporal_http_port", TEMPORAL_HTTP_PORT)
    overrides.setdefault("fetch_allowed_hosts", TEST_ALLOWED_HOSTS)
    settings = Settings(database_url=database_url, tideway_admin_token=ADMIN_TOKEN, **overrides)
    await migrate_async(database_url)
    db = Database(database_url)
    services = build_services(settings, db, client, admin_token=ADMIN_TOKEN, task_queue=f"tq-{uuid.uuid4().hex[:10]}")
    worker, resources = build_worker(services)
    task = asyncio.create_task(worker.run())
    await _wait_for_pollers(client, services.task_queue)
    transport = httpx.ASGITransport(app=create_app(services))
    # API clients keep no cookies: a login must not turn the shared client into a browser session
    # (tests that want one build their own client or pass cookies explicitly).
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    http = httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60, cookies=no_cookies)
    try:
        yield Stack(services, worker, http, backend)
    finally:
        await http.aclose()
        await worker.shutdown()
        with contextlib.suppress(Exception):
            await task
        await resources.aclose()
        await db.dispose()
