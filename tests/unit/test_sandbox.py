"""Workflow code runs in a sandbox where only the ground floor passes: importing the services or an
I/O library from a workflow fails its workflow task (worker/sandbox.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.sandbox_workflows import ForbiddenImportWorkflow, GroundFloorWorkflow
from worker.sandbox import FORBIDDEN, workflow_sandbox


async def _task_failure(env: WorkflowEnvironment, handle: object) -> str:
    for _ in range(100):
        history = await handle.fetch_history()  # type: ignore[attr-defined]
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                # Failure messages are encrypted like payloads (core/infra/payload_codec.py).
                error = await env.client.data_converter.decode_failure(
                    event.workflow_task_failed_event_attributes.failure)
                return f"{error} {error.__cause__ or ''}"
        await asyncio.sleep(0.1)
    return ""


@pytest.mark.parametrize("module", ["core.infra.db", "sqlalchemy", "httpx", "activities.fetch"])
async def test_workflow_code_cannot_import_services_or_io(temporal_env: WorkflowEnvironment, module: str) -> None:
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_env.client, task_queue=queue, workflows=[GroundFloorWorkflow, ForbiddenImportWorkflow],
                      workflow_runner=SandboxedWorkflowRunner(restrictions=workflow_sandbox())):
        allowed = await temporal_env.client.execute_workflow("GroundFloorWorkflow", "{{a}} * 21", id=f"ok-{queue}",
                                                             task_queue=queue)
        assert allowed == "42"
        handle = await temporal_env.client.start_workflow("ForbiddenImportWorkflow", module, id=f"no-{queue}",
                                                          task_queue=queue)
        message = await _task_failure(temporal_env, handle)
        await handle.terminate()
    # Refused at the first forbidden module the import reaches (core.infra.db stops at sqlalchemy).
    assert "RestrictedWorkflowAccessError" in message, message
    assert any(f"access {name}" in message for name in FORBIDDEN), message
