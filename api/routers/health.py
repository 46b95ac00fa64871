"""``GET /healthz``: database and Temporal reachable, and a worker polling the task queue."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.deps import ServicesDep
from api.permissions import Public
from schemas.api.runs import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, response_model_exclude_unset=True,
            dependencies=[Depends(Public("a load balancer's probe"))],
            responses={503: {"model": Health, "description": "`unavailable`, with the problems"}})
async def healthz(services: ServicesDep) -> JSONResponse:
    problems: list[str] = []
    if not await services.db.ping():
        problems.append("database unreachable")
    try:
        described = await services.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=services.client.namespace, task_queue=TaskQueue(name=services.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        if not described.pollers:
            problems.append(f"no worker polling task queue '{services.task_queue}'")
    except Exception as exc:  # any RPC failure means Temporal is not usable
        problems.append(f"temporal unreachable: {exc}")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})
