"""What stands in for the images when tests/api/compose_runner.py runs docker-compose.yml here: a
Temporal dev server with no search attributes (as a fresh ``temporalio/auto-setup``), a fresh
PostgreSQL database (as a fresh ``postgres`` container), and what the runner asks of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.infra.devserver import temporal_binary
from tests.conformance.http_stub import free_port
from tests.unit.compose_check import ROOT


@dataclass
class Stand:
    """What stands in for the images: a Temporal frontend and a PostgreSQL database."""

    temporal_address: str
    database_url: str  # the URL given to Tideway
    schema: str  # where its tables go
    admin_url: str  # for checking the migrations from outside


@contextlib.contextmanager
def temporal_dev_server(folder: Path) -> Iterator[str]:
    """A dev server in memory with no search attributes registered, as a fresh auto-setup is."""
    port = free_port()
    args = [temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
            "--http-port", str(free_port()), "--log-level", "warn"]
    log = folder / "temporal.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        wait_for(lambda: process.poll() is None and search_attributes(f"127.0.0.1:{port}") is not None, 30,
                 f"Temporal dev server (see {log})")
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextlib.contextmanager
def postgres_database(base: str) -> Iterator[Stand]:
    """A fresh database on the local server (dropped after), as a fresh ``postgres`` container has.
    A database rather than a schema: the migrations' advisory lock is per database, and the rest
    of the suite migrates schemas of the shared test database at the same time."""
    import psycopg

    name = f"compose_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, connect_timeout=3, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(base)._replace(path=f"/{name}").geturl()
    try:
        yield Stand("", url, "public", url)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def wait_for(ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready within {timeout:.0f} s")


def search_attributes(address: str) -> set[str] | None:
    """The custom search attributes of the default namespace (None: the server does not answer)."""
    found = subprocess.run([temporal_binary(), "operator", "search-attribute", "list", "--address", address],
                           capture_output=True, text=True, timeout=20)
    if found.returncode != 0:
        return None
    return {line.split()[0] for line in found.stdout.splitlines()[1:] if line.strip()}


def migration_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def migrated_to(stand: Stand) -> str | None:
    import psycopg

    with psycopg.connect(stand.admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                              "AND table_name = 'alembic_version'", (stand.schema,)).fetchone()
        if not exists:
            return None
        row = conn.execute(f'SELECT version_num FROM "{stand.schema}".alembic_version').fetchone()
        return str(row[0]) if row else None

async def pollers(address: str, namespace: str, task_queue: str) -> set[str]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    client = await Client.connect(address, namespace=namespace)
    described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    return {poller.identity for poller in described.pollers}
