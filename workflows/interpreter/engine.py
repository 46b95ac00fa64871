"""The interpreter: walks an automation's ``do`` list (spec §2.4, §3).

Pure instructions run here, in workflow code; side effects go through ``Effects``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.errors import (
    InvalidInstructionError,
    ObjectNotFoundError,
    StepBudgetExceededError,
    TidewayError,
    TooManyCallError,
)
from schemas.events import EMIT_TOPIC, json_size
from schemas.runs import ContextKeys, ContextWrite, RunInput, WaitRequest
from workflows.interpreter.arguments import validate_arguments
from workflows.interpreter.effects import Effects
from workflows.interpreter.events import EventRecorder
from workflows.interpreter.frames import BreakSignal, ErrorOrigin, Frame, HttpResponseState
from workflows.interpreter.scope import Scope, assign
from workflows.interpreter.secrets import find_secret_paths, find_secret_values, redact
from workflows.interpreter.values import deep_copy, js_type_name, strip_undefined
from workflows.language import UNDEFINED, render

RUN_BUILTINS = ("depth", "automationSlug", "trigger", "date", "correlationId")
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
    context_quota: int = 100_000
    wait_default_timeout: float = 20.0
    run_ttl: float = 60.0
    session_ttl: float = 3600.0


class ContextQuotaExceededError(TidewayError):
    default_message = "Context quota exceeded"


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
        self.user_id = run.user_id
        self.session_id = run.session_id or run.user_id or run.correlation_id
        self.writes: list[ContextWrite] = []
        self.charges: dict[str, int] = {}
        self.throttled_ms = 0
        self.watermark = 0
        self.secrets: set[str] = set(run.workspace.secrets)
        self.contexts: dict[str, Any] = self._initial_contexts({})
        self._automations: dict[str, dict[str, Any] | None] = {}
        self.frames: list[Frame] = []
        if run.automation is not None:
            self._automations[run.automation_slug] = run.automation

    # -- set-up -----------------------------------------------------------------------
    def _initial_contexts(self, stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
        ws = self.run.workspace
        return {
            "config": deep_copy(ws.config),  # run-local: `set config.x` never leaks (DECISIONS 11)
            "$workspace": {"id": ws.id, "slug": ws.slug, "name": ws.name, "config": {"value": ws.config}},
            "global": {**stored.get("global", {}), "workspaceId": ws.id, "workspaceName": ws.name,
                       "workspaceSlug": ws.slug},
            "user": self._user_context(stored.get("user", {})),
            "session": {**stored.get("session", {}), "id": self.session_id},
            "socket": {},
            "run": {**stored.get("run", {}), "correlationId": self.run.correlation_id},
        }

    def _user_context(self, stored: dict[str, Any]) -> dict[str, Any]:
        if not self.user_id:
            return dict(stored)
        return {"authData": {}, **stored, "id": self.user_id}

    def context_keys(self) -> ContextKeys:
        return ContextKeys(scope=self.run.workspace.id, user_id=self.user_id, session_key=self.session_id,
                           correlation_id=self.run.correlation_id)

    async def prepare(self) -> None:
        """Load the persisted contexts (skipped when no automation of the workspace reads them)."""
        if self.run.workspace.uses_contexts:
            await self.reload_contexts()

    async def reload_contexts(self) -> None:
        stored = await self.effects.load_contexts(self.context_keys())
        keep = {k: self.contexts["run"].get(k) for k in RUN_BUILTINS if k in self.contexts["run"]}
        config = self.contexts["config"]
        self.contexts = self._initial_contexts(stored)
        self.contexts["run"].update(keep)
        self.contexts["config"] = config
        for frame in self.frames:
            frame.scope.contexts = self.contexts

    async def switch_identity(self, kind: str, value: Any) -> None:
        """``set user.id`` / ``set session.id`` to a new value (spec §3.1)."""
        value = str(value)
        self.user_id = value
        self.session_id = value
        self.events.session_id = value
        await self.reload_contexts()

    def record_write(self, kind: str, path: list[str | int], value: Any, op: str) -> None:
        key = {"global": "", "user": self.user_id, "session": self.session_id,
               "run": self.run.correlation_id}.get(kind)
        if key is None:
            return  # user writes are not saved without a user id
        context = self.contexts.get(kind)
        if op != "delete" and json_size(strip_undefined(context)) > self.limits.context_quota:
            raise ContextQuotaExceededError(
                f"Context '{kind}' is over its quota of {self.limits.context_quota} bytes",
                {"context": kind, "limit": self.limits.context_quota})
        ttl = self.limits.run_ttl if kind == "run" else self.limits.session_ttl if kind == "session" else None
        self.writes.append(ContextWrite(id=self.effects.new_id(), scope=self.run.workspace.id, kind=kind,
                                        key=key, type=op, path=path, value=strip_undefined(deep_copy(value)),
                                        ttl_seconds=ttl))

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

    async def flush(self, not_watermark: tuple[str, ...] = ()) -> int:
        """Persist buffered events and context writes, settle rate limits (also yields the
        activation). Returns the run's watermark."""
        events, writes, charges = self.events.take(), self.writes, self.charges
        self.writes, self.charges = [], {}
        for event in events:
            if event.source.serviceTopic != EMIT_TOPIC and self.secrets:
                event.payload = redact(event.payload, self.secrets)
        result = await self.effects.flush(events, writes, charges, list(not_watermark))
        self.watermark = max(self.watermark, result.watermark)
        if result.throttle_seconds > 0:
            await self.effects.sleep(result.throttle_seconds)
            self.throttled_ms += int(result.throttle_seconds * 1000)
        return self.watermark

    def charge(self, kind: str, tokens: int = 1) -> None:
        self.charges[kind] = self.charges.get(kind, 0) + tokens

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
        self.charge("automations")
        secret_paths = find_secret_paths(automation.get("arguments"))
        if secret_paths:
            self.secrets.update(find_secret_values(payload, secret_paths))
        local_vars = payload
        run_ctx = self.contexts["run"]
        saved = {k: run_ctx.get(k, UNDEFINED) for k in ("depth", "automationSlug", "trigger")}
        run_ctx.update(depth=depth, automationSlug=slug, trigger=trigger)
        frame = Frame(slug, automation, local_vars, depth, trigger, Scope(self.contexts, local_vars),
                      http_response=root and self.run.http_response)
        self.frames.append(frame)
        started = self.effects.now()
        broke: BreakSignal | None = None
        try:
            try:
                await self.run_list(frame, automation.get("do") or [], "do")
            except BreakSignal as signal:
                broke = signal
            # A copy: rendering returns scope objects as they are, and the run context is
            # restored below.
            output = deep_copy(self.render(frame, automation["output"])) if "output" in automation else {}
        except TidewayError as exc:
            if getattr(exc, "origin", None) is None:
                exc.origin = ErrorOrigin(slug, getattr(exc, "instruction", None), depth)  # type: ignore[attr-defined]
            raise
        finally:
            self.frames.remove(frame)
            run_ctx = self.contexts["run"]
            for key, value in saved.items():
                if value is UNDEFINED:
                    run_ctx.pop(key, None)
                else:
                    run_ctx[key] = value
        duration = int((self.effects.now() - started).total_seconds() * 1000)
        executed_payload = dict(payload)
        if isinstance(executed_payload.get("headers"), dict):
            executed_payload["headers"] = {k: v for k, v in executed_payload["headers"].items()
                                           if k.lower() != "authorization"}
        self.events.native(
            "runtime.automations.executed",
            {"slug": slug, "payload": executed_payload, "output": output, "duration": duration,
             "startedAt": started.isoformat().replace("+00:00", "Z"), "trigger": trigger,
             "break": broke is not None, **({"throttled": self.throttled_ms} if self.throttled_ms else {})},
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

    # -- waits --------------------------------------------------------------------------
    async def wait_for(self, types: list[str], filters: list[dict[str, Any] | None], cancels: list[bool],
                       timeout: float, frame: Frame) -> dict[str, Any] | None:
        """Register a wait from the run's watermark and block on its signal (DESIGN "Waiting")."""
        wait_id = self.effects.new_id()
        expires = self.effects.now() + timedelta(seconds=timeout)
        wait_info = {"oneOf": [{"event": t, "filters": f} for t, f in zip(types, filters, strict=True)],
                     "timeout": timeout}
        pending = self.events.native("runtime.waits.pending", {
            "id": wait_id, "expiresAt": expires.isoformat().replace("+00:00", "Z"), "wait": wait_info},
            frame.slug, frame.depth)
        # The wait's own pending event is persisted now but is not part of the watermark: a reply
        # persisted before it must still be found.
        watermark = await self.flush(not_watermark=(pending.id,)) or self.run.after_seq
        request = WaitRequest(wait_id=wait_id, workspace_id=self.run.workspace.id,
                              workflow_id=self.effects.workflow_id, event_types=types, filters=filters,
                              cancel_triggers=cancels, after_seq=max(watermark, self.run.after_seq),
                              timeout=timeout)
        event = await self.effects.wait_for_event(request)
        if event is not None:
            self.events.native("runtime.waits.fulfilled", {"id": wait_id, "event": event}, frame.slug, frame.depth)
            if self.run.workspace.uses_contexts:
                await self.reload_contexts()  # other runs may have changed the shared contexts
        return event

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
