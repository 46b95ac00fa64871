"""The Temporal worker: AutomationWorkflow plus its activities."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.custom_code import CustomCodeActivities
from activities.egress import EgressPolicy
from activities.egress_http import EgressGuard
from activities.fetch import FetchActivities
from activities.fetch_auth import OwnApi
from activities.listeners import ListenerActivities
from activities.retention import RetentionActivities
from activities.runtime import RuntimeActivities
from activities.schedules import ScheduleActivities
from activities.shared_state import SharedStateActivities
from core.custom_code import configure_pool, shutdown_pool, warm_up
from core.events.retention import RetentionPolicy
from core.events.writer import EventWriter
from core.runs.ratelimits import default_buckets
from core.runs.schedules import ScheduleService
from core.services import Services
from worker.sandbox import workflow_sandbox
from workflows.automation import AutomationWorkflow
from workflows.dispatch import DispatchWorkflow
from workflows.retention import RetentionWorkflow
from workflows.schedules import ScheduledRunWorkflow


class WorkerResources:
    """What a worker holds besides the Temporal worker itself; closed at shutdown."""

    def __init__(self, fetch: FetchActivities, writer: EventWriter, schedules: ScheduleService | None = None):
        self.fetch = fetch
        self.writer = writer
        self.schedules = schedules  # reconcile_all / ensure_retention_schedule at worker start

    async def aclose(self) -> None:
        await self.fetch.aclose()
        await self.writer.close()
        shutdown_pool()


def build_worker(services: Services) -> tuple[Worker, WorkerResources]:
    """The worker of a process, on the services its composition root built (cli/composition.py)."""
    client, settings, db = services.client, services.settings, services.db
    # First: an invalid FETCH_ALLOWED_HOSTS stops the worker before anything starts
    # (EgressConfigError, a message naming every bad entry).
    egress = EgressGuard(EgressPolicy.from_settings(settings))
    buckets = None if settings.rate_limit_disabled else default_buckets(
        (settings.rate_limit_automations, settings.rate_limit_automations_burst),
        (settings.rate_limit_emits, settings.rate_limit_emits_burst),
        (settings.rate_limit_fetchs, settings.rate_limit_fetchs_burst),
        (settings.rate_limit_repeats, settings.rate_limit_repeats_burst))
    writer = EventWriter(db)  # one batching writer per process
    runtime = RuntimeActivities(services, writer=writer, buckets=buckets)
    shared = SharedStateActivities(services)  # rateLimit counters, user topics
    # Custom Code runs in engine processes (core/custom_code): started now, not on first calls.
    configure_pool(settings.custom_code_processes or os.cpu_count() or 1)
    warm_up(1)
    custom_code = CustomCodeActivities(settings.run)
    fetch = FetchActivities(services.blobs, settings.run.fetch_timeout_seconds, egress, OwnApi.from_settings(settings))
    queue = services.task_queue
    scheduled = ScheduleActivities(services.trees, services.schedules)
    retention = RetentionActivities(db, RetentionPolicy.from_settings(settings))
    # Workflow code is deterministic by construction (no I/O, clock or randomness outside
    # `workflow`). The sandbox re-checks that at run time; with every module passed through it
    # costs ~16 % of the process's CPU per run (issue 9 profile), so deployments may turn it off
    # (TIDEWAY_WORKFLOW_SANDBOX=false). The test suite always runs sandboxed.
    runner: WorkflowRunner = (SandboxedWorkflowRunner(restrictions=workflow_sandbox())
                              if settings.tideway_workflow_sandbox else UnsandboxedWorkflowRunner())
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[AutomationWorkflow, DispatchWorkflow, ScheduledRunWorkflow, RetentionWorkflow],
        activities=[*runtime.all(), *ListenerActivities(services.launcher).all(), *shared.all(), *custom_code.all(),
                    fetch.fetch, *scheduled.all(), *retention.all()],
        workflow_runner=runner,
        activity_executor=ThreadPoolExecutor(max_workers=8),
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.worker_workflow_pollers,
        max_concurrent_activity_task_polls=settings.worker_activity_pollers,
        workflow_failure_exception_types=[],
        # After a crash, runs parked on the dead worker's sticky queue move on within seconds.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )
    return worker, WorkerResources(fetch, writer, services.schedules)
