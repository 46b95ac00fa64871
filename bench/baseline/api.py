"""The baseline's HTTP endpoint: a minimal FastAPI app running the DSL workflow per request.

``TEMPORAL_ADDRESS=… python -m uvicorn bench.baseline.api:app --port N``
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from temporalio.client import Client

from bench.baseline.dsl import SIMPLE_USER_JOURNEY, TASK_QUEUE, DSLInput

state: dict[str, Client] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state["client"] = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/webhooks/simpleUserJourney")
async def simple_user_journey(request: Request) -> Any:
    body = await request.json()
    return await state["client"].execute_workflow(
        "DSLWorkflow", DSLInput(SIMPLE_USER_JOURNEY, {"body": body}), id=f"journey-{uuid.uuid4()}",
        task_queue=TASK_QUEUE)
