"""What a run reports of itself to the ``runs`` table (docs/runs.md): its record, sent with the
run's flushes when it changed (first flush: ``running`` with the input; a ``wait``: ``waiting``;
the end: ``succeeded``/``failed``/``cancelled`` with the output or the error and the trace). Never
a separate write: the record rides in the flush that persists the run's events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from language.secrets import Redactor
from language.values import strip_undefined
from schemas.runs import ENDED_STATUSES, RunInput, RunRecord, run_record_id
from workflows.interpreter.engine import Interpreter


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class RunReporter:
    def __init__(self, run: RunInput, interpreter: Interpreter, workflow_id: str, temporal_run_id: str,
                 started: datetime):
        self.run = run
        self.interpreter = interpreter
        self.workflow_id = workflow_id
        self.temporal_run_id = temporal_run_id
        self.started = started
        self.id = run_record_id(workflow_id)
        self.input: Any = None
        self.output: Any = None
        self.error: dict[str, Any] | None = None
        self.reported: str | None = None  # the status last written (None: no record yet)
        self.trace: dict[str, Any] | None = None  # the trace as last reported

    def pending(self) -> RunRecord | None:
        """The record to write with this flush, or None when nothing changed since the last one."""
        it = self.interpreter
        status = it.status
        if status == self.reported:
            return None
        first = self.reported is None
        self.reported = status
        redact = Redactor(it.secrets)
        run = self.run
        record = RunRecord(
            id=self.id, workflow_id=self.workflow_id, temporal_run_id=self.temporal_run_id,
            workspace_id=run.workspace.id, revision=run.workspace.revision, automation=run.automation_slug,
            instance=run.instance, trigger_type=run.trigger.type, trigger_value=run.trigger.value,
            correlation_id=run.correlation_id, user_id=run.user_id, status=status, started_at=iso(self.started),
            rerun_of=run.rerun_of, trace=it.tracer.snapshot(it.secrets))
        self.trace = record.trace
        if first:
            record.input, record.has_input = redact(strip_undefined(self.input)), True
        if status in ENDED_STATUSES:
            ended = it.effects.now()
            record.ended_at = iso(ended)
            record.duration_ms = int((ended - self.started).total_seconds() * 1000)
            record.output = redact(strip_undefined(self.output))
            record.error = self.error
        return record
