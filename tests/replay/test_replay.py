"""Runs in flight survive code changes: histories recorded with earlier code
(``record_histories.py``: waiting, sleeping, scheduled, dispatched, streamed and full webhook runs,
one still parked in its wait, one parked mid-loop) replay on today's workflow code without a
non-determinism error. The ``loop_*`` histories were recorded with the code before issue 17's
language changes (try, sleeps, break scopes, rateLimit), the others before issue 15's redesign."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from core.infra.payload_codec import data_converter
from tests.stack import TEST_SECRETS_KEY
from worker.sandbox import workflow_sandbox
from workflows.automation import AutomationWorkflow
from workflows.dispatch import DispatchWorkflow
from workflows.retention import RetentionWorkflow
from workflows.schedules import ScheduledRunWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def test_the_recorded_scenarios_are_all_there() -> None:
    assert {p.stem for p in HISTORIES} >= {"webhook_full", "wait_parked", "wait_fulfilled", "wait_timeout",
                                           "dispatch_listener", "scheduled", "streamed_chunks", "loop_wait_parked",
                                           "loop_wait_done", "cancelled_wait", "fetch_first_listener"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[AutomationWorkflow, DispatchWorkflow, ScheduledRunWorkflow, RetentionWorkflow],
        data_converter=data_converter(TEST_SECRETS_KEY),
        workflow_runner=SandboxedWorkflowRunner(restrictions=workflow_sandbox()))
    histories = [WorkflowHistory.from_json(f"{path.stem}-{n}", h) for n, h in enumerate(json.loads(path.read_text()))]
    assert histories
    for history in histories:
        await replayer.replay_workflow(history)  # raises on a non-deterministic change
