"""Running automations by hand (``/test``) and the health check."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from schemas.api.common import Closed, Open


class TestBody(Closed):
    """``POST …/test/{slug}``: the run's input, whose fields are the automation's variables (an
    automation written for a webhook reads ``body``, ``query``, ``headers``)."""

    __test__ = False  # not a pytest class

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"payload": {"body": {"name": "Ada"}}}]})

    payload: dict[str, Any] = Field(default_factory=dict)


class Health(Closed):
    status: str = Field(description="`ok`, or `unavailable` with the problems")
    problems: list[str] | None = None


class RerunBody(Closed):
    """``POST …/runs/{runId}/rerun``: which definition the new run runs (docs/runs.md)."""

    definition: Literal["current", "original"] = Field(
        "current", description="`current`: the workspace as it is now; `original`: the revision the run ran on")


class TraceOut(Open):
    """A run's step trace: ``level``, ``steps`` (path, instruction, automation, instance, depth,
    start and duration in ms, outcome, error, iteration, value), ``dropped`` (steps past the cap)."""

    level: str
    steps: list[dict[str, Any]]
    dropped: int = 0


class RunOut(Closed):
    """A run as its record shows it; ``input``, ``output``, ``error`` and ``trace`` only for readers
    of the workspace, ``temporalUrl`` only on ``GET …/runs/{runId}``."""

    id: str
    workflowId: str
    temporalRunId: str
    workspaceId: str
    automation: str
    appInstance: str = ""
    trigger: dict[str, Any]
    correlationId: str
    userId: str | None = None
    status: Literal["running", "waiting", "succeeded", "failed", "cancelled"]
    startedAt: str
    endedAt: str | None = None
    duration: int | None = Field(None, description="milliseconds, once the run has ended")
    revision: int
    rerunOf: str | None = None
    error: dict[str, Any] | None = None
    input: Any = None
    output: Any = None
    trace: TraceOut | None = None
    temporalUrl: str | None = None


class RunList(Closed):
    runs: list[RunOut]


class RunsPage(Closed):
    result: RunList


class OneRun(Closed):
    run: RunOut


class RunPage(Closed):
    result: OneRun


class ReemittedEvent(Closed):
    event: dict[str, Any]


class ReemitPage(Closed):
    result: ReemittedEvent
