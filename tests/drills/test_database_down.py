"""Drill: the database is unavailable for a few seconds (through a loopback TCP proxy the
test pauses; the machine's PostgreSQL is never stopped): the API answers 503 for new work,
nothing is half-written, runs in flight retry their activities and finish."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from tests.conformance.http_stub import HttpStub
from tests.drills.helpers import FULL, figure
from tests.drills.proxy import PausableProxy
from tests.stack import open_stack

BASE = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Gate(HttpStub):
    def __init__(self) -> None:
        super().__init__([], app=Starlette(routes=[Route("/slow", self.slow, methods=["GET", "POST"])]))
        self.gate = asyncio.Event()
        self.arrived = 0

    async def slow(self, request: Request) -> JSONResponse:
        self.arrived += 1
        await self.gate.wait()
        return JSONResponse({"slow": True})


def _schema() -> str | None:
    import psycopg

    name = f"drill_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(BASE, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
    except Exception:
        return None
    return name


def _drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def test_database_unavailable_for_a_few_seconds(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    schema = _schema()
    if schema is None:
        pytest.skip(f"PostgreSQL not reachable at {BASE}")
    parts = urlsplit(BASE)
    in_flight, outage = (10, 8.0) if FULL else (4, 3.0)
    try:
        with PausableProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
            url = f"postgresql://{parts.username}@127.0.0.1:{proxy.port}{parts.path}?options=-csearch_path%3D{schema}"
            async with Gate() as gate, open_stack(temporal_env.client, url, "postgres") as stack:
                ws = (await stack.import_workspace({"name": "DB drill", "slug": f"db-{uuid.uuid4().hex[:6]}",
                                                    "automations": {
                    "slow": {"name": "slow", "when": {"endpoint": True}, "do": [
                        {"fetch": {"url": f"{gate.url}/slow", "output": "r"}},
                        {"emit": {"event": "after", "payload": {"n": "{{body.n}}"}}}], "output": "{{body.n}}"},
                    "quick": {"name": "quick", "when": {"endpoint": True, "events": ["poke"]},
                              "do": [{"emit": {"event": "quickdone", "payload": {"n": "{{body.n}}"}}}],
                              "output": "{{body.n}}"}}}))["id"]
                hook = f"/v2/workspaces/{ws}/webhooks"
                runs = [asyncio.create_task(stack.http.post(f"{hook}/slow", json={"n": n}, timeout=120))
                        for n in range(in_flight)]
                while gate.arrived < in_flight:
                    await asyncio.sleep(0.05)
                proxy.pause()
                answers: dict[str, str] = {}
                for what, call in (
                        ("webhook", stack.http.post(f"{hook}/quick", json={"n": 999})),
                        ("events", stack.http.post(f"/v2/workspaces/{ws}/events",
                                                   json={"events": [{"type": "poke"}]}, headers=stack.auth)),
                        ("read", stack.http.get(f"/v2/workspaces/{ws}/events", headers=stack.auth)),
                        ("healthz", stack.http.get("/healthz"))):
                    try:
                        response = await asyncio.wait_for(call, 5)
                        answers[what] = str(response.status_code)
                    except TimeoutError:
                        answers[what] = "no answer in 5 s"
                gate.gate.set()  # the in-flight runs now reach their emit while the database is down
                await asyncio.sleep(outage)
                proxy.resume()
                outputs = [(await asyncio.wait_for(r, 120)) for r in runs]
                finished = sum(1 for n, r in enumerate(outputs) if r.status_code == 200 and r.json() == n)
                await asyncio.sleep(1.0)
                after = await stack.events(ws, types="after", limit=500)
                quick = await stack.events(ws, types="quickdone", limit=500)
                pokes = await stack.events(ws, types="poke", limit=500)
                half = [f"{len(quick)} quickdone" if answers["webhook"] != "200" and quick else "",
                        f"{len(pokes)} poke" if answers["events"] != "200" and pokes else ""]
                half_written = [h for h in half if h]
                figure("database down (proxy paused)",
                       f"new work answered {answers}; in-flight runs finished {finished}/{in_flight}, "
                       f"'after' events {len(after)}/{in_flight}; half-written {half_written or 0}; "
                       f"connections refused {proxy.refused}")
                assert finished == in_flight
                assert sorted(e["payload"]["n"] for e in after) == list(range(in_flight))
                assert not half_written
                assert answers["webhook"] == "503" and answers["events"] == "503", answers
    finally:
        _drop(schema)
