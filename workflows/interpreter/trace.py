"""The step trace of a run (docs/runs.md): one entry per executed instruction, recorded as the
interpreter goes, cheap enough to stay on for every run.

A step is a plain dict (building a model per instruction would cost the hot path): ``path``,
``instruction``, ``automation``, ``instance``, ``depth``, ``start`` and ``duration`` (ms, in
workflow time: the pure steps of one activation take 0 ms, a fetch its real time), ``outcome``
(``ok``, ``error`` with ``error``, ``break``), ``iteration`` inside a ``repeat``, and at the
``values`` level ``value``. Steps are listed in the order they start (pre-order): the steps of a
block or of a called automation follow the step that holds them. Values are cut to
``value_bytes`` and secrets are redacted when the trace leaves the run (:meth:`Tracer.snapshot`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from language import UNDEFINED
from language.secrets import Redactor
from language.values import strip_undefined
from schemas.instructions import Call, Dynamic, Instruction, Invalid

Step = dict[str, Any]
LEVELS = ("off", "steps", "values")


def instruction_name(node: Instruction) -> str:
    if isinstance(node, Call):
        return node.name
    if isinstance(node, Invalid):
        return node.keyword or "invalid"
    if isinstance(node, Dynamic):
        return node.keyword
    return node.keyword


def cut(value: Any, limit: int) -> tuple[Any, int]:
    """``value`` when its JSON fits ``limit`` bytes, else a marker with its size and a preview;
    and the bytes it takes in the trace."""
    value = strip_undefined(value)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = str(value)
    size = len(text.encode("utf-8"))
    if size <= limit:
        return value, size
    return {"$truncated": True, "bytes": size, "preview": text[:max(0, limit // 2)]}, limit


class Tracer:
    def __init__(self, level: str, value_bytes: int, max_steps: int, started: datetime,
                 now: Callable[[], datetime], values_budget: int = 200 * 1024):
        self.level = level
        self.value_bytes = value_bytes
        # All values of one run together stay below this (a loop of 2,000 large sets would
        # otherwise make a 4 MB trace): past it, values are only sized.
        self.values_budget = values_budget
        self.values_used = 0
        self.max_steps = max_steps
        self.started = started
        self.now = now
        self.steps: list[Step] = []
        self.dropped = 0
        self.current: Step | None = None  # the latest step begun (the Temporal UI's current details)

    def describe(self, automation: str) -> str:
        """The run's current step, for the Temporal UI (``workflow.set_current_details``)."""
        step = self.current
        if step is None:
            return f"Running **{automation}**"
        return (f"**{step['automation']}** at `{step['path']}` ({step['instruction']}), "
                f"step {len(self.steps) + self.dropped}")

    def offset(self) -> int:
        return int((self.now() - self.started).total_seconds() * 1000)

    def begin(self, level: str, node: Instruction, path: str, automation: str, instance: str, depth: int,
              iteration: int | None) -> Step | None:
        """A step that starts now, or None when the frame's level is ``off`` or the trace is full."""
        if level == "off":
            return None
        if len(self.steps) >= self.max_steps:
            self.dropped += 1
            self.current = None
            return None
        step: Step = {"path": path, "instruction": instruction_name(node), "automation": automation,
                      "instance": instance, "depth": depth, "start": self.offset(), "outcome": "ok"}
        if iteration is not None:
            step["iteration"] = iteration
        self.steps.append(step)
        self.current = step
        return step

    def end(self, step: Step, outcome: str = "ok", error: dict[str, Any] | None = None, value: Any = UNDEFINED,
            values: bool = False) -> None:
        step["duration"] = self.offset() - step["start"]
        step["outcome"] = outcome
        if error is not None:
            step["error"] = error
        if values and value is not UNDEFINED and "value" not in step:
            self.note(step, value)

    def note(self, step: Step | None, value: Any) -> None:
        """A step's value (a handler's own account of it: a fetch's status and body, an emit's id)."""
        if step is None:
            return
        limit = min(self.value_bytes, max(0, self.values_budget - self.values_used))
        step["value"], used = cut(value, limit)
        self.values_used += used

    def snapshot(self, secrets: set[str]) -> dict[str, Any]:
        """The trace so far, with the run's secret values redacted (a copy: the run goes on)."""
        steps: list[Step] = [dict(step) for step in self.steps]
        for step in steps:
            step.setdefault("duration", self.offset() - step["start"])
        redacted: list[Step] = Redactor(secrets)(steps) if secrets else steps
        return {"level": self.level, "steps": redacted, "dropped": self.dropped}
