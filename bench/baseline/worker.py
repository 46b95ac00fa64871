"""The baseline's worker process: ``python -m bench.baseline.worker ADDRESS DB_PATH``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from bench.baseline.dsl import TASK_QUEUE, Activities, DSLWorkflow


async def main(address: str, db_path: str) -> None:
    client = await Client.connect(address)
    activities = Activities(db_path)
    worker = Worker(client, task_queue=TASK_QUEUE, workflows=[DSLWorkflow], activities=activities.all(),
                    activity_executor=ThreadPoolExecutor(max_workers=20))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(worker.run())
    print("baseline worker ready", flush=True)
    await stop.wait()
    await worker.shutdown()
    await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    sys.stdout.flush()
    os._exit(0)  # sdk-python #300: never let a client reach interpreter teardown
