"""The interpreter: walks an automation's ``do`` list (spec §2.4, §3).

Pure instructions run here, in workflow code; side effects go through ``Effects``.
Every frame knows the app instance it runs in (``''`` = the root workspace): config,
contexts, event names and call resolution follow from it (spec §7.4).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from language import UNDEFINED, render
from language.arguments import validate_arguments
from language.secrets import Redactor, find_secret_paths, find_secret_values
from language.values import deep_copy, js_type_name
from language.variables import Scope, assign
from schemas.automations import Automation, load_automation
from schemas.errors import (
    ForbiddenError,
    InvalidInstructionError,
    StepBudgetExceededError,
    TidewayError,
    TooManyCallError,
)
from schemas.events import EMIT_TOPIC
from schemas.instruction_fields import is_template
from schemas.instructions import (
    All,
    Break,
    Call,
    Comment,
    Conditions,
    CreateUserTopic,
    CustomCode,
    Delete,
    Dynamic,
    Emit,
    Fetch,
    Instruction,
    Invalid,
    JoinUserTopic,
    RateLimit,
    Repeat,
    Set,
    Try,
    Wait,
    parse_instruction,
)
from schemas.run_settings import RunSettings
from schemas.runs import CallTarget, InstanceInfo, RunInput, RunRecord, without_credentials
from workflows.interpreter import (
    calls,
    control,
    custom_code,
    instructions,
    shared_state,
    side_effects,
)
from workflows.interpreter.effects import Effects
from workflows.interpreter.events import EventRecorder
from workflows.interpreter.frames import BreakSignal, ErrorOrigin, Frame, HttpResponseState
from workflows.interpreter.run_contexts import RunContexts
from workflows.interpreter.trace import Tracer

FRAME_RUN_KEYS = ("depth", "automationSlug", "trigger", "appSlug", "appInstanceSlug", "appInstanceFullSlug",
                  "parentAppSlug")


def root_instance(run: RunInput) -> InstanceInfo:
    ws = run.workspace
    return InstanceInfo(full_slug="", config=ws.config, secrets=ws.secrets, scope=ws.id,
                        uses_contexts=ws.uses_contexts, endpoints=ws.endpoints)


class Interpreter:
    def __init__(self, run: RunInput, effects: Effects, limits: RunSettings, recorder: EventRecorder):
        self.run = run
        self.effects = effects
        self.limits = limits
        self.error_listener = run.trigger.type == "event" and run.trigger.value == "error"
        self.events = recorder
        self.steps = 0
        self.branches = 0  # `all` branches alive now (a hostile tree must not fan out unbounded)
        self._gate: asyncio.Future[None] | None = None  # set while a yield's flush is in flight
        self.http = HttpResponseState()
        self.ctx = RunContexts(run, effects, limits)
        self.charges: dict[str, int] = {}
        self.throttled_ms = 0
        self.watermark = 0
        self.secrets: set[str] = set(run.workspace.secrets)
        self.frames: list[Frame] = []
        self.start_instance = run.instance_info or root_instance(run)
        self.status = "running"  # the run's status as its record shows it (workflows/run_report.py)
        self.report: Callable[[], RunRecord | None] | None = None  # the record to send with a flush
        self.tracer = Tracer(limits.trace_level, limits.trace_value_bytes, limits.trace_max_steps, effects.now(),
                             effects.now, values_budget=limits.inline_value_bytes)
        self._calls: dict[tuple[str, str], CallTarget] = {}
        self._models: dict[tuple[str, str], Automation] = {}  # each definition parsed once per run
        if run.automation is not None:
            self._calls[(self.start_instance.full_slug, run.automation_slug)] = CallTarget(
                instance=self.start_instance, slug=run.automation_slug, automation=run.automation)

    def model(self, target: CallTarget) -> Automation:
        """The typed automation of a resolved target (schemas/automations.py)."""
        key = (target.instance.full_slug, target.slug)
        found = self._models.get(key)
        if found is None:
            found = self._models[key] = load_automation(target.automation or {})
        return found

    # -- identity ---------------------------------------------------------------------
    @property
    def user_id(self) -> str | None:
        return self.ctx.user_id

    @property
    def session_id(self) -> str:
        return self.ctx.session_id

    async def switch_identity(self, kind: str, value: Any) -> None:
        await self.ctx.switch_identity(str(value))
        self.events.session_id = self.events.user_id = str(value)

    def record_write(self, frame: Frame, kind: str, path: list[str | int], value: Any, op: str) -> None:
        self.ctx.record(frame.instance, kind, path, value, op)

    # -- steps --------------------------------------------------------------------------
    async def step(self) -> None:
        """Count one step; yield the workflow activation every N steps (never timed). While a
        yield is in flight every other `all` branch waits at its next step too: an activation
        only ends once all its tasks are blocked, so without the gate many parallel branches
        would run on in one activation past Temporal's deadlock detector."""
        if self._gate is not None:
            await asyncio.shield(self._gate)
        self.steps += 1
        if self.steps > self.limits.max_steps_per_run:
            raise StepBudgetExceededError(
                f"Run exceeded its budget of {self.limits.max_steps_per_run} steps", {"limit": self.limits.max_steps_per_run})
        if self.steps % self.limits.yield_every_steps == 0:
            self._gate = asyncio.get_running_loop().create_future()
            try:
                await self.flush()
            finally:
                gate, self._gate = self._gate, None
                gate.set_result(None)
            await asyncio.sleep(0)  # the branches that waited take their step before this one goes on

    def redact(self, value: Any) -> Any:
        """``value`` without the run's secret values, as native events show it: for what the run
        answers its caller when it fails (a fetch error naming a URL that holds a secret)."""
        return Redactor(self.secrets)(value) if self.secrets else value

    async def flush(self, not_watermark: tuple[str, ...] = ()) -> int:
        """Persist buffered events and context writes, settle rate limits (also yields the
        activation). Returns the run's watermark."""
        events, writes, charges = self.events.take(), self.ctx.take_writes(), self.charges
        self.charges = {}
        redactor = Redactor(self.secrets) if self.secrets else None
        for event in events:
            if redactor is not None and event.source.serviceTopic != EMIT_TOPIC:
                event.payload = redactor(event.payload)
        # The loop guard: the errors of a run started by an `error` event start no listener.
        quiet = [e.id for e in events if e.type == "error"] if self.error_listener else None
        record = self.report() if self.report is not None else None
        result = await self.effects.flush(events, writes, charges, list(not_watermark), self.user_id, quiet, record)
        self.watermark = max(self.watermark, result.watermark)
        if result.throttle_seconds > 0:
            await self.effects.sleep(result.throttle_seconds)
            self.throttled_ms += int(result.throttle_seconds * 1000)
        return self.watermark

    def charge(self, kind: str, tokens: int = 1) -> None:
        self.charges[kind] = self.charges.get(kind, 0) + tokens

    def render(self, frame: Frame, value: Any, exclude: tuple[str, ...] = ()) -> Any:
        self.ctx.shared_run["date"] = self.effects.now().isoformat().replace("+00:00", "Z")
        return render(value, frame.scope, env=self.effects.env, exclude=exclude)

    # -- automations --------------------------------------------------------------------
    async def execute(self, target: CallTarget, payload: dict[str, Any], parent_depth: int,
                      trigger: dict[str, Any], *, root: bool = False,
                      seen_trigger: dict[str, Any] | None = None) -> Any:
        """Run one automation to its output (spec §2.4). ``trigger`` is what its ``executed``
        event records; ``seen_trigger`` (default: the same) what it reads as ``run.trigger``."""
        slug, instance, automation = target.slug, target.instance, self.model(target)
        if automation.validate_arguments and isinstance(automation.arguments, dict) and automation.arguments:
            validate_arguments(automation.arguments, payload)
        if parent_depth > self.limits.max_call_depth:
            raise TooManyCallError(
                f"Too many successive automation calls (more than {self.limits.max_call_depth})",
                {"limit": self.limits.max_call_depth})
        action = automation.action
        if action and not await self.effects.may_execute(target.automation or {}, self.user_id):
            raise ForbiddenError(
                f"Not allowed to execute automation '{slug}' (it requires the permission '{action}')",
                {"automation": slug, "action": action})
        depth = parent_depth + 1
        self.charge("automations")
        self.secrets.update(instance.secrets)
        secret_paths = find_secret_paths(automation.arguments)
        if secret_paths:
            self.secrets.update(find_secret_values(payload, secret_paths))
        contexts = await self.ctx.enter(instance)
        run_ctx = self.ctx.shared_run
        saved = {k: run_ctx.get(k, UNDEFINED) for k in FRAME_RUN_KEYS}
        for key in FRAME_RUN_KEYS:
            run_ctx.pop(key, None)
        run_ctx.update(depth=depth, automationSlug=slug, trigger=seen_trigger or trigger)
        if instance.full_slug:
            run_ctx.update(appSlug=instance.app_slug, appInstanceSlug=instance.slug,
                           appInstanceFullSlug=instance.full_slug)
            if instance.parent_app_slug:
                run_ctx["parentAppSlug"] = instance.parent_app_slug
        # The payload dict becomes the frame's locals: runtime.automations.executed shows the input
        # as it came, not the locals the run left behind.
        input_payload = deep_copy(payload)
        frame = Frame(slug, automation, payload, depth, trigger, Scope(contexts, payload), instance,
                      http_response=root and self.run.http_response,
                      trace=automation.trace or self.limits.trace_level)
        if root:
            self.tracer.level = frame.trace
        self.frames.append(frame)
        started = self.effects.now()
        broke: BreakSignal | None = None
        try:
            try:
                await self.run_list(frame, automation.do, "do")
            except BreakSignal as signal:
                broke = signal
            # A copy: rendering returns scope objects as they are, and the run context is
            # restored below.
            output = deep_copy(self.render(frame, automation.output)) if automation.has_output else {}
        except TidewayError as exc:
            if getattr(exc, "origin", None) is None:
                exc.origin = ErrorOrigin(slug, getattr(exc, "instruction", None), depth)  # type: ignore[attr-defined]
                exc.instance = instance  # type: ignore[attr-defined]
            # A failed automation is an execution too: the Activity links it to its run.
            self._executed(slug, input_payload, started, trigger, depth, instance,
                           {"error": {"error": exc.name, "message": exc.message}})
            raise
        finally:
            self.frames.remove(frame)
            for key, value in saved.items():
                if value is UNDEFINED:
                    run_ctx.pop(key, None)
                else:
                    run_ctx[key] = value
        self._executed(slug, input_payload, started, trigger, depth, instance,
                       {"output": output, "break": broke is not None})
        if broke is not None and broke.scope == "all" and not root:
            raise broke
        return output

    def _executed(self, slug: str, input_payload: dict[str, Any], started: Any, trigger: dict[str, Any], depth: int,
                  instance: InstanceInfo, outcome: dict[str, Any]) -> None:
        """``runtime.automations.executed``: the input as it came (without the caller's credential
        headers), the trigger, timing, and the outcome (``output`` and ``break``, or ``error``)."""
        executed_payload = without_credentials(input_payload)
        duration = int((self.effects.now() - started).total_seconds() * 1000)
        self.events.native(
            "runtime.automations.executed",
            {"slug": slug, "payload": executed_payload, **outcome, "duration": duration,
             "startedAt": started.isoformat().replace("+00:00", "Z"), "trigger": trigger,
             **({"throttled": self.throttled_ms} if self.throttled_ms else {})},
            slug, depth, user=True, workflow=True, instance=instance)

    async def run_list(self, frame: Frame, instructions: Sequence[Instruction], path: str) -> None:
        for index, node in enumerate(instructions):
            await self.run_instruction(frame, node, f"{path}[{index}]")

    async def run_instruction(self, frame: Frame, node: Instruction, path: str) -> None:
        await self.step()
        step = None if frame.trace == "off" else self.tracer.begin(
            frame.trace, node, path, frame.slug, frame.instance.full_slug, frame.depth, frame.iteration)
        try:
            result = await self.dispatch(frame, node, path)
        except TidewayError as exc:
            if step is not None:
                # The step that raised it is the failed one; the blocks it unwinds were aborted.
                origin = getattr(exc, "instruction", None) is None
                self.tracer.end(step, "error" if origin else "aborted",
                                {"error": exc.name, "message": exc.message} if origin else None)
            raise self._located(exc, frame, path) from None
        except BreakSignal:
            if step is not None:
                self.tracer.end(step, "break")
            raise
        except asyncio.CancelledError:
            if step is not None:
                self.tracer.end(step, "cancelled")
            raise
        if step is not None:
            self.tracer.end(step, value=result, values=frame.trace == "values")
        if "output" in node.model_fields_set and result is not UNDEFINED:
            target = getattr(node, "output", None)
            if is_template(target):  # `output: files[{{$index}}].text`
                target = self.render(frame, target)
            if not isinstance(target, str):
                self.events.native("error", {
                    "error": "InvalidOutputError",
                    "message": f"Output variable name must be a string, received {js_type_name(target)}",
                    "details": {"instruction": path, "output": target}}, frame.slug, frame.depth,
                    instance=frame.instance)
            else:
                assign(frame.scope.contexts, frame.locals, target, result)

    async def dispatch(self, frame: Frame, node: Instruction, path: str, literal: bool = False) -> Any:
        """Run one instruction node (its fields are interpolated when it runs, unless ``literal``:
        a ``Dynamic`` node's fields, which came out of a template, are never interpolated again)."""
        match node:
            case Set():
                return await instructions.run_set(self, frame, node, literal)
            case Delete():
                return instructions.run_delete(self, frame, node, literal)
            case Comment():
                return UNDEFINED
            case Break():
                return instructions.run_break(self, frame, node)
            case Conditions():
                return await instructions.run_conditions(self, frame, node, path)
            case Repeat():
                return await instructions.run_repeat(self, frame, node, path)
            case All():
                return await instructions.run_all(self, frame, node, path)
            case Emit():
                return side_effects.run_emit(self, frame, node)
            case Fetch():
                return await side_effects.run_fetch(self, frame, node)
            case Wait():
                return await side_effects.run_wait(self, frame, node)
            case Try():
                return await control.run_try(self, frame, node, path)
            case RateLimit():
                return await shared_state.run_rate_limit(self, frame, node)
            case CreateUserTopic() | JoinUserTopic():
                return await shared_state.run_user_topic(self, frame, node)
            case CustomCode():
                return await custom_code.run_custom_code(self, frame, node)
            case Call():
                return await calls.run_call(self, frame, node, path)
            case Dynamic(keyword=keyword, template=template):
                rendered = self.render(frame, template)
                if not isinstance(rendered, dict):
                    raise InvalidInstructionError(
                        f"'{keyword}' expects an object, got {js_type_name(rendered)} from {template!r}",
                        {"instruction": path})
                parsed = parse_instruction({keyword: rendered})
                if isinstance(parsed, Invalid):
                    raise InvalidInstructionError(f"'{keyword}' from {template!r}: {parsed.message}",
                                                  {"instruction": path})
                return await self.dispatch(frame, parsed, path, literal=True)
            case Invalid():
                raise InvalidInstructionError(node.message, {"instruction": path})

    def _located(self, exc: TidewayError, frame: Frame, path: str) -> TidewayError:
        if getattr(exc, "instruction", None) is None:
            exc.instruction = path  # type: ignore[attr-defined]
            exc.automation_slug = frame.slug  # type: ignore[attr-defined]
        return exc

    # -- calls --------------------------------------------------------------------------
    async def resolve(self, caller: str, name: str) -> CallTarget | None:
        key = (caller, name)
        if key not in self._calls:
            target = await self.effects.resolve_call(caller, name)
            if target is None:
                return None
            self._calls[key] = target
        return self._calls[key]
