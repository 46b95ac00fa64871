"""The interpreter: walks an automation's ``do`` list (spec §2.4, §3).

Pure instructions run here, in workflow code; side effects go through ``Effects``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.errors import (
    InvalidInstructionError,
    ObjectNotFoundError,
    StepBudgetExceededError,
    TidewayError,
    TooManyCallError,
)
from schemas.runs import RunInput
from workflows.interpreter.arguments import validate_arguments
from workflows.interpreter.effects import Effects
from workflows.interpreter.events import EventRecorder
from workflows.interpreter.frames import BreakSignal, ErrorOrigin, Frame, HttpResponseState
from workflows.interpreter.scope import Scope, assign
from workflows.interpreter.values import deep_copy, js_type_name
from workflows.language import UNDEFINED, render

Handler = Callable[["Interpreter", Frame, Any, str], Awaitable[Any]]
NATIVE: dict[str, Handler] = {}


def instruction(name: str) -> Callable[[Handler], Handler]:
    """Register a native instruction handler."""

    def register(fn: Handler) -> Handler:
        NATIVE[name] = fn
        return fn

    return register


@dataclass(slots=True)
class Limits:
    max_call_depth: int = 20
    yield_every_steps: int = 500
    max_steps: int = 100_000
    max_event_size: int = 100_000


def location(frame: Frame, path: str | None) -> str:
    return f"automation '{frame.slug}'" + (f" at {path}" if path else "")


class Interpreter:
    def __init__(self, run: RunInput, effects: Effects, limits: Limits, recorder: EventRecorder):
        self.run = run
        self.effects = effects
        self.limits = limits
        self.events = recorder
        self.steps = 0
        self.http = HttpResponseState()
        self.contexts: dict[str, Any] = self._initial_contexts()
        self._automations: dict[str, dict[str, Any] | None] = {run.automation_slug: run.automation}

    # -- set-up -----------------------------------------------------------------------
    def _initial_contexts(self) -> dict[str, Any]:
        run, ws = self.run, self.run.workspace
        return {
            "config": deep_copy(ws.config),  # run-local: `set config.x` never leaks (DECISIONS 11)
            "$workspace": {"id": ws.id, "slug": ws.slug, "name": ws.name, "config": {"value": ws.config}},
            "global": {"workspaceId": ws.id, "workspaceName": ws.name, "workspaceSlug": ws.slug},
            "user": {"id": run.user_id} if run.user_id else {},
            "session": {"id": run.session_id} if run.session_id else {},
            "socket": {},
            "run": {"correlationId": run.correlation_id},
        }

    # -- steps --------------------------------------------------------------------------
    async def step(self) -> None:
        """Count one step; yield the workflow activation every N steps (never timed)."""
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise StepBudgetExceededError(
                f"Run exceeded its budget of {self.limits.max_steps} steps",
                {"limit": self.limits.max_steps},
            )
        if self.steps % self.limits.yield_every_steps == 0:
            await self.flush()

    async def flush(self, *, force: bool = True) -> None:
        events = self.events.take()
        if events or force:
            await self.effects.flush_events(events)

    def render(self, frame: Frame, value: Any, exclude: tuple[str, ...] = ()) -> Any:
        self.contexts["run"]["date"] = self.effects.now().isoformat().replace("+00:00", "Z")
        return render(value, frame.scope, env=self.effects.env, exclude=exclude)

    # -- automations --------------------------------------------------------------------
    async def execute(self, slug: str, automation: dict[str, Any], payload: dict[str, Any],
                      parent_depth: int, trigger: dict[str, Any], *, root: bool = False) -> Any:
        """Run one automation to its output (spec §2.4)."""
        if automation.get("validateArguments") and automation.get("arguments"):
            validate_arguments(automation["arguments"], payload)
        if parent_depth > self.limits.max_call_depth:
            raise TooManyCallError(
                f"Too many successive automation calls (more than {self.limits.max_call_depth})",
                {"limit": self.limits.max_call_depth},
            )
        depth = parent_depth + 1
        local_vars = payload
        run_ctx = self.contexts["run"]
        saved = {k: run_ctx.get(k, UNDEFINED) for k in ("depth", "automationSlug", "trigger")}
        run_ctx.update(depth=depth, automationSlug=slug, trigger=trigger)
        frame = Frame(slug, automation, local_vars, depth, trigger, Scope(self.contexts, local_vars),
                      http_response=root and self.run.http_response)
        started = self.effects.now()
        broke: BreakSignal | None = None
        try:
            try:
                await self.run_list(frame, automation.get("do") or [], "do")
            except BreakSignal as signal:
                broke = signal
            output = self.render(frame, automation["output"]) if "output" in automation else {}
        except TidewayError as exc:
            if getattr(exc, "origin", None) is None:
                exc.origin = ErrorOrigin(slug, getattr(exc, "instruction", None), depth)  # type: ignore[attr-defined]
            raise
        finally:
            for key, value in saved.items():
                if value is UNDEFINED:
                    run_ctx.pop(key, None)
                else:
                    run_ctx[key] = value
        duration = int((self.effects.now() - started).total_seconds() * 1000)
        executed_payload = {k: v for k, v in payload.items()}
        if isinstance(executed_payload.get("headers"), dict):
            executed_payload["headers"] = {k: v for k, v in executed_payload["headers"].items()
                                           if k.lower() != "authorization"}
        self.events.native(
            "runtime.automations.executed",
            {"slug": slug, "payload": executed_payload, "output": output, "duration": duration,
             "startedAt": started.isoformat().replace("+00:00", "Z"), "trigger": trigger,
             "break": broke is not None},
            slug, depth, user=True, workflow=True,
        )
        if broke is not None and broke.scope == "all" and not root:
            raise broke
        return output

    async def run_list(self, frame: Frame, instructions: Any, path: str) -> None:
        if not isinstance(instructions, list):
            raise InvalidInstructionError(f"{path} must be a list of instructions", {"path": path})
        for index, item in enumerate(instructions):
            await self.run_instruction(frame, item, f"{path}[{index}]")

    async def run_instruction(self, frame: Frame, item: Any, path: str) -> None:
        await self.step()
        if not isinstance(item, dict) or len(item) != 1:
            raise self._located(InvalidInstructionError(
                "An instruction must be an object with exactly one key", {"instruction": path}), frame, path)
        name, arg = next(iter(item.items()))
        if arg is None:
            raise self._located(InvalidInstructionError(
                f"Instruction '{name}' has no argument (use {{}} for none)", {"instruction": path}), frame, path)
        handler = NATIVE.get(name)
        try:
            if handler is not None:
                result = await handler(self, frame, arg, path)
            else:
                result = await self.call(frame, name, arg, path)
        except TidewayError as exc:
            raise self._located(exc, frame, path) from None
        if isinstance(arg, dict) and "output" in arg and result is not UNDEFINED and name != "set":
            target = arg["output"]
            if not isinstance(target, str):
                self.events.native("error", {
                    "error": "InvalidOutputError",
                    "message": f"Output variable name must be a string, received {js_type_name(target)}",
                    "details": {"instruction": path, "output": target}}, frame.slug, frame.depth)
            else:
                assign(self.contexts, frame.locals, target, result)

    def _located(self, exc: TidewayError, frame: Frame, path: str) -> TidewayError:
        if getattr(exc, "instruction", None) is None:
            exc.instruction = path  # type: ignore[attr-defined]
            exc.automation_slug = frame.slug  # type: ignore[attr-defined]
        return exc

    # -- calls --------------------------------------------------------------------------
    async def resolve(self, name: str) -> dict[str, Any] | None:
        if name not in self._automations:
            self._automations[name] = await self.effects.load_automation(name)
        return self._automations[name]

    async def call(self, frame: Frame, name: str, arg: Any, path: str) -> Any:
        args = self.render(frame, arg)
        if not isinstance(args, dict):
            raise InvalidInstructionError(
                f"Arguments of the call to '{name}' must be an object", {"automation": name})
        automation = None if "." in name else await self.resolve(name)
        if automation is None or automation.get("disabled"):
            raise ObjectNotFoundError(
                f"Automation '{name}' not found (called from {location(frame, path)})",
                {"slug": name, "automation": frame.slug, "instruction": path})
        payload = {k: deep_copy(v) for k, v in args.items() if v is not UNDEFINED}
        return await self.execute(name, automation, payload, frame.depth,
                                  {"type": "automation", "value": frame.slug})
