"""The Temporal floor as a bench system (issue 22: "Tideway's own CPU per run ≤ 1.25× the Temporal
floor measured in the same run").

One process holds a Temporal client and worker, as ``tideway run`` does, behind the same HTTP
server (uvicorn with httptools and uvloop): each POST starts bench/temporal_floor.py's workflow
eagerly with one local activity, Tideway's memo and its payload codec (every payload encrypted),
awaits it and answers its result. Nothing else: no workspace, no interpreter, no database. What
Tideway spends per request above this is its own code.

    .venv/bin/python -m bench.floor_system <temporal address> <port>   # what the system starts
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.systems import ROOT, System, TemporalDevServer, _spawn, _stop, _wait_port, free_port

QUEUE = "floor-http"


class TemporalFloor(System):
    """bench/temporal_floor.py's workflow behind HTTP, on a dev server started as ``make run`` does."""

    name = "temporal-floor"

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="tw-floor-http-"))
        self.server = TemporalDevServer(self.folder, "file")
        self.process: Any = None
        self.notes = {"dev_server": {"persistence": "file"},
                      "run": "eager start, one local activity, Tideway's memo and payload codec; no Tideway code"}

    def start(self) -> None:
        self.server.start()
        port = free_port()
        log = self.folder / "floor.log"
        self.process = _spawn([sys.executable, "-m", "bench.floor_system", self.server.address, str(port)], log,
                              {**os.environ}, cwd=ROOT)
        _wait_port(port, self.process, log)
        self.url = f"http://127.0.0.1:{port}/run"
        assert self.server.process is not None
        self.pids = {"floor (client+worker+http)": self.process.pid, "temporal dev server": self.server.process.pid}

    def stop(self) -> None:
        _stop(self.process)
        self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


async def serve(address: str, port: int) -> None:
    import uvicorn
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from bench.temporal_floor import BENCH_SECRETS_KEY, FloorWorkflow, noop
    from core.infra.payload_codec import data_converter
    from core.infra.settings import get_settings

    client = await Client.connect(address, data_converter=data_converter(BENCH_SECRETS_KEY))
    memo = {"settings": get_settings().run.model_dump()}  # as core.runs.launcher.RunLauncher

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        result = await client.execute_workflow(
            "FloorWorkflow", {"local_activity": True, "body": json.loads(body or b"{}")}, id=uuid.uuid4().hex,
            task_queue=QUEUE, memo=memo, request_eager_start=True)
        payload = json.dumps(result).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    worker = Worker(client, task_queue=QUEUE, workflows=[FloorWorkflow], activities=[noop],
                    workflow_runner=UnsandboxedWorkflowRunner(), max_concurrent_workflow_tasks=200)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", log_level="warning",
                                           lifespan="off"))
    async with worker:
        await server.serve()


if __name__ == "__main__":
    from cli.commands.server import long_running

    long_running()  # uvloop and the garbage-collector settings of Tideway's server processes
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
