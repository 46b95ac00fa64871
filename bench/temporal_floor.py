"""What a run costs Temporal itself, before any Tideway code (issue 9: "write down what bounds the rest").

    .venv/bin/python bench/temporal_floor.py [--persistence file|memory] [--runs 600] [--concurrency 20]
                                             [--codec both|on|off] [--rounds 1]

A dev server started as ``make run`` starts it, and one Python process holding a client and a
worker (as ``tideway run`` does), running a workflow that returns a constant: started eagerly
and awaited like a webhook run, with (a) nothing else, (b) one local activity, (c) one local
activity plus Tideway's three search attributes and its memo. Prints the dev server's and the
Python process's CPU milliseconds per run: the floor under Tideway's own figures in
``make bench``.

``--codec both`` measures every variant twice, interleaved: with the plain pydantic converter
and with Tideway's converter (core/infra/payload_codec.py: every payload AES-GCM encrypted, failure
messages encoded), each on its own client and worker, so the codec's own cost shows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.systems import TemporalDevServer  # noqa: E402
from core.infra.payload_codec import data_converter  # noqa: E402
from core.infra.settings import get_settings  # noqa: E402
from schemas.search_attributes import run_search_attributes  # noqa: E402

QUEUE = "floor"
BENCH_SECRETS_KEY = "tG3dRHb-wi9C5sSm0p8XoQBo3fjU2nB2cXOw1SwH3Wc="  # a fixed Fernet key (bench only)
VARIANTS = {"workflow": (False, False), "+local activity": (True, False),
            "+local activity, search attributes, memo": (True, True)}


@activity.defn(name="floor_noop")
async def noop(value: str) -> str:
    return value


@workflow.defn(name="FloorWorkflow")
class FloorWorkflow:
    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("local_activity"):
            await workflow.execute_local_activity(noop, "x", start_to_close_timeout=timedelta(seconds=5))
        return {"content": "Doe", "requestBody": request.get("body")}


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def measure(client: Client, queue: str, server: psutil.Process, name: str, runs: int, concurrency: int,
                  label: str) -> None:
    local_activity, tideway_options = VARIANTS[name]
    memo = {"settings": get_settings().run.model_dump()}  # as core.runs.launcher.RunLauncher
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        options: dict[str, Any] = {}
        if tideway_options:
            options = {"memo": memo, "search_attributes": run_search_attributes(True, "ws", "journey", uuid.uuid4().hex)}
        async with gate:
            await client.execute_workflow("FloorWorkflow", {"local_activity": local_activity, "body": {"name": "Ada"}},
                                          id=uuid.uuid4().hex, task_queue=queue, request_eager_start=True, **options)

    await asyncio.gather(*(one() for _ in range(50)))  # warm-up
    me = psutil.Process()
    server_before, python_before, started = cpu(server), cpu(me), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.5)  # the server's close-of-run work (visibility) finishes after the result
    print(f"{name + label:52s} dev server {1000 * (cpu(server) - server_before) / runs:5.2f} ms/run, "
          f"client+worker {1000 * (cpu(me) - python_before) / runs:5.2f} ms/run, {runs / elapsed:5.1f} runs/s",
          flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persistence", default="file", choices=["file", "memory"])
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--codec", default="both", choices=["both", "on", "off"],
                        help="Tideway's payload codec (encryption) on, off, or both interleaved")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement, interleaved")
    args = parser.parse_args()
    converters = {"off": [("", pydantic_data_converter)],
                  "on": [(" [codec]", data_converter(BENCH_SECRETS_KEY))]}
    chosen = converters["off"] + converters["on"] if args.codec == "both" else converters[args.codec]
    server = TemporalDevServer(Path(tempfile.mkdtemp(prefix="tw-floor-")), args.persistence)
    await asyncio.to_thread(server.start)
    try:
        assert server.process is not None
        setups = []
        for index, (label, converter) in enumerate(chosen):
            client = await Client.connect(server.address, data_converter=converter)
            queue = f"{QUEUE}-{index}"
            worker = Worker(client, task_queue=queue, workflows=[FloorWorkflow], activities=[noop],
                            workflow_runner=UnsandboxedWorkflowRunner(), max_concurrent_workflow_tasks=200)
            setups.append((label, client, queue, worker))
        async with contextlib.AsyncExitStack() as stack:
            for *_, worker in setups:
                await stack.enter_async_context(worker)
            for _ in range(args.rounds):
                for name in VARIANTS:
                    for label, client, queue, _worker in setups:
                        await measure(client, queue, psutil.Process(server.process.pid), name, args.runs,
                                      args.concurrency, label)
    finally:
        await asyncio.to_thread(server.stop)
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)
