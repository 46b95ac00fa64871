"""The interpreter's side effects in memory (workflows/interpreter/effects.py ``Effects``), for one
test case: what ``TemporalEffects`` does with activities and a database, done here with dicts.

* clock: starts at the case's ``now`` (or the real time) and moves only when a run sleeps or a
  wait times out; ids and ``rand`` come from a generator seeded with the case name (repeatable);
* contexts: global/user/session/run objects in memory, written by the same path operations the
  database applies (``language.variables``);
* flush: events get sequence numbers in the case's log and start their listeners at once, inside
  the flush (the run that emitted them goes on after): deterministic, and a run waiting for a
  listener's reply finds it;
* wait: an event of the log after the run's watermark, else the first event the case lists under
  ``events:`` that matches, else an immediate timeout (the clock moves by the timeout);
* fetch: the case's mocks, else the network when ``allowNetwork``, else the case fails;
* Custom Code: the real sandbox (core/custom_code), through the activity's own code;
* calls: resolved in the folder's workspace and its built-in or vendored apps (``AppTree``).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.custom_code import CustomCodeActivities
from activities.runtime import triggers
from cli.workspace_tests.format import Case, Mocks
from cli.workspace_tests.mocks import (
    FetchMocks,
    RunnerProblem,
    full_url,
    mocked_response,
    network_fetch,
    unmocked_message,
)
from core.access.permissions.checks import automation_executable, member_permissions
from core.apps.tree import AppTree
from core.events.waits import entry_for
from core.workspaces.resolved import ResolvedWorkspace
from language import LanguageEnv
from language.values import deep_copy
from language.variables import assign_path, remove_path
from schemas.events import EMIT_TOPIC, Event
from schemas.run_settings import RunSettings
from schemas.runs import (
    CallTarget,
    ContextKeys,
    ContextWrite,
    CustomCodeOutcome,
    CustomCodeRequest,
    FlushResult,
    InstanceInfo,
    RateLimitRequest,
    RateLimitResult,
    RunInput,
    RunRecord,
    Trigger,
    UserTopicRequest,
    WaitRequest,
)

TESTER = "tester"  # the user id of a permission check when the case names none
MAX_RUNS_PER_CASE = 500  # listener cascades beyond this are a loop, not a test


class FakeClock:
    def __init__(self, start: datetime):
        self.current = start if start.tzinfo else start.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        """Parallel sleeps (``all`` branches) started together end together: each moves the
        clock to its own end, never past it twice."""
        end = self.current + timedelta(seconds=seconds)
        await asyncio.sleep(0)
        self.current = max(self.current, end)


@dataclass
class CaseWorld:
    """Everything the runs of one case share: the workspace, the clock, the log, the contexts."""

    compiled: ResolvedWorkspace
    tree: AppTree
    case: Case
    file_mocks: Mocks
    settings: RunSettings
    custom_code: CustomCodeActivities
    launch: Callable[[RunInput], Awaitable[None]] | None = None  # starts a listener run
    log: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (seq, public event)
    requests: list[dict[str, Any]] = field(default_factory=list)  # fetches sent, as the run built them
    calls: list[dict[str, Any]] = field(default_factory=list)  # mocked automation calls
    topics: list[dict[str, Any]] = field(default_factory=list)
    runs_started: int = 0

    def __post_init__(self) -> None:
        case = self.case
        self.clock = FakeClock(case.now or datetime.now(UTC))
        self.rng = random.Random(case.name)
        self.seq = 0
        self.fetch_mocks = FetchMocks([*case.mocks.fetch, *self.file_mocks.fetch])
        self.automation_mocks = {**self.file_mocks.automations, **case.mocks.automations}
        self.deliveries = list(case.events)
        self.contexts: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.counters: dict[tuple[str, str, str], tuple[datetime, int]] = {}
        self.user_id = case.user
        self.session_id = f"session-{case.user}" if case.user else None
        if case.contexts is not None:
            scope = self.compiled.id
            self.contexts[(scope, "global", "")] = deep_copy(case.contexts.global_)
            if case.user:
                self.contexts[(scope, "user", case.user)] = deep_copy(case.contexts.user)
        self.env = LanguageEnv(now=self.clock.now, random=self.rng.random,
                               timezone=self.settings.default_timezone, locale=self.settings.default_locale)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def seed_session(self, session_key: str) -> None:
        """The case's ``contexts.session``, under the session key of its first run."""
        contexts = self.case.contexts
        if contexts is not None and contexts.session:
            self.contexts.setdefault((self.compiled.id, "session", session_key), deep_copy(contexts.session))

    # -- contexts ---------------------------------------------------------------------
    def load_contexts(self, keys: ContextKeys) -> dict[str, dict[str, Any]]:
        wanted = [("global", "")]
        for kind, key in (("user", keys.user_id), ("session", keys.session_key), ("run", keys.correlation_id)):
            if key:
                wanted.append((kind, key))
        return {kind: deep_copy(self.contexts.get((keys.scope, kind, key), {})) for kind, key in wanted}

    def apply_writes(self, writes: list[ContextWrite]) -> None:
        for write in writes:
            holder = {write.kind: self.contexts.get((write.scope, write.kind, write.key), {})}
            if write.type == "delete":
                remove_path(holder, {}, [write.kind, *write.path])
            else:
                assign_path(holder, {}, [write.kind, *write.path], deep_copy(write.value), write.type)
            self.contexts[(write.scope, write.kind, write.key)] = holder[write.kind]

    # -- events -----------------------------------------------------------------------
    async def flush(self, events: list[Event], writes: list[ContextWrite], not_watermark: list[str],
                    user_id: str | None, quiet: list[str] | None) -> FlushResult:
        self.apply_writes(writes)
        if not events:
            return FlushResult()
        marks = []
        for event in events:
            self.seq += 1
            self.log.append((self.seq, event.to_public()))
            if event.id not in not_watermark:
                marks.append(self.seq)
        result = FlushResult(watermark=max(marks, default=0))
        silent = set(quiet or ())
        for event in events:
            if triggers(event) and event.id not in silent:
                await self.start_listeners(event, user_id)
        return result

    async def start_listeners(self, event: Event, user_id: str | None) -> None:
        """What ``start_listeners`` (workflows/dispatch.py) starts for one persisted event."""
        payload = event.payload if isinstance(event.payload, dict) else {}
        trigger = payload.get("trigger")
        trigger_type = trigger.get("type") if isinstance(trigger, dict) else None
        public = event.to_public()
        user_sent = event.source.automationSlug is None
        seq = next((seq for seq, logged in reversed(self.log) if logged["id"] == event.id), 0)
        for found in self.tree.listeners(event.type, event.source.appInstanceFullSlug, trigger_type):
            instance = found.instance
            run = RunInput(
                workspace=self.compiled.ref(), automation_slug=found.automation, automation=None, instance=instance,
                instance_info=self.tree.nodes[instance].info if instance else None, versions=self.tree.versions,
                payload={"id": event.id, "source": public["source"], "payload": public.get("payload", {})},
                trigger=Trigger(type="event", value=event.type, id=event.id,
                                local_value=found.name if found.name != event.type else None),
                correlation_id=event.source.correlationId,
                user_id=event.source.userId if user_sent else user_id, session_id=event.source.sessionId,
                depth=event.source.automationDepth or 0, after_seq=seq, record_interaction=user_sent)
            await self.start(run)

    async def start(self, run: RunInput) -> None:
        self.runs_started += 1
        if self.runs_started > MAX_RUNS_PER_CASE:
            raise RunnerProblem(f"more than {MAX_RUNS_PER_CASE} runs in one case: listeners that start each "
                                "other without end?")
        assert self.launch is not None
        await self.launch(run)

    def wait_for(self, request: WaitRequest) -> dict[str, Any] | None:
        for seq, event in self.log:
            if seq > request.after_seq and entry_for(request, event) is not None:
                return event
        for index, delivered in enumerate(self.deliveries):
            event = {"id": self.new_id(), "type": delivered.type, "payload": deep_copy(delivered.payload),
                     "source": {"workspaceId": self.compiled.id, "correlationId": self.new_id(),
                                "serviceTopic": EMIT_TOPIC, **deep_copy(delivered.source)},
                     "createdAt": self.clock.now().isoformat().replace("+00:00", "Z")}
            if entry_for(request, event) is not None:
                del self.deliveries[index]
                return event
        self.clock.current += timedelta(seconds=request.timeout)
        return None

    # -- shared state -----------------------------------------------------------------
    def rate_limit(self, request: RateLimitRequest) -> RateLimitResult:
        """Fixed windows opened by a consumer's first take; a refused take consumes nothing
        (core/runs/rate_counters.py)."""
        key = (request.scope, request.name, request.consumer)
        now = self.clock.now()
        end, count = self.counters.get(key, (now, 0))
        if end <= now:
            end, count = now + timedelta(seconds=request.window), 0
        if count + request.consume > request.limit:
            return RateLimitResult(ok=False, remaining=max(0, request.limit - count),
                                   retry_after=max(0.001, (end - now).total_seconds()))
        self.counters[key] = (end, count + request.consume)
        return RateLimitResult(ok=True, remaining=request.limit - count - request.consume, retry_after=0)

    def may_execute(self, automation: dict[str, Any], user_id: str | None) -> bool:
        """The permission check of ``authorizations.action``, with the case's ``role`` (an
        automation case runs as its tester: ``owner`` unless the case says otherwise)."""
        role = self.case.role or ("owner" if self.case.automation else None)
        # The tester of an automation case holds a role even when the case names no user.
        perms = member_permissions(self.compiled.id, self.compiled.document.get("security"),
                                   user_id=user_id or (TESTER if role else None), role=role)
        return automation_executable(perms, automation, self.compiled.id)

    # -- calls ------------------------------------------------------------------------
    def mock_for(self, caller: str, name: str) -> str | None:
        """The key of the automation mock answering ``name`` called inside ``caller``: the name as
        written, or its full path from the root (``nlu.parse`` called inside ``nlu`` as ``parse``)."""
        full = f"{caller}.{name}" if caller else name
        for key in (name, full):
            if key in self.automation_mocks:
                return key
        return None

    def resolve_call(self, caller: str, name: str) -> CallTarget | None:
        found = self.tree.resolve_call(caller, name)
        if found is None:
            missing = self.tree.missing_app(caller, name)
            if missing is not None:
                raise RunnerProblem(
                    f"call to '{name}': app instance '{missing[0]}' runs app '{missing[1]}', which is neither built "
                    f"in nor vendored under apps/{missing[1]}/: mock the call under mocks.automations")
            return None
        instance, slug = found
        node = self.tree.nodes[instance]
        automation = node.automations.get(slug)
        return CallTarget(instance=node.info, slug=slug, automation=automation if isinstance(automation, dict) else None)

    def mocked_target(self, caller: str, name: str) -> CallTarget:
        info = self.tree.nodes[caller].info if caller in self.tree.nodes else InstanceInfo(full_slug=caller)
        return CallTarget(instance=info, slug=name, automation={"name": name, "do": []})


class InMemoryEffects:
    """``Effects`` of one run of a case (each run has its workflow id; the rest is the world's)."""

    def __init__(self, world: CaseWorld, run: RunInput):
        self.world = world
        self.run = run
        self.env = world.env
        self.workflow_id = f"{run.workspace.id}/{run.automation_slug}/{world.new_id()}"

    def now(self) -> datetime:
        return self.world.clock.now()

    def new_id(self) -> str:
        return self.world.new_id()

    async def flush(self, events: list[Event], writes: list[ContextWrite], charges: dict[str, int],
                    not_watermark: list[str], user_id: str | None = None, quiet: list[str] | None = None,
                    run: RunRecord | None = None) -> FlushResult:
        return await self.world.flush(events, writes, not_watermark, user_id, quiet)

    async def sleep(self, seconds: float) -> None:
        await self.world.clock.sleep(seconds)

    async def load_contexts(self, keys: ContextKeys) -> dict[str, dict[str, Any]]:
        return self.world.load_contexts(keys)

    async def wait_for_event(self, request: WaitRequest) -> dict[str, Any] | None:
        return self.world.wait_for(request)

    async def rate_limit(self, request: RateLimitRequest) -> RateLimitResult:
        return self.world.rate_limit(request)

    async def user_topic(self, request: UserTopicRequest) -> None:
        self.world.topics.append(request.model_dump())

    async def run_custom_code(self, request: CustomCodeRequest) -> CustomCodeOutcome:
        # Blocking (a sandbox process answers): in a thread, as the worker runs it.
        return await asyncio.to_thread(self.world.custom_code.run_custom_code, request)

    async def fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        method, url = str(request.get("method") or "GET"), full_url(request)
        world.requests.append({key: value for key, value in request.items()
                               if key not in ("correlationId", "workspaceId", "maxChunks", "maxBytes", "runUser")})
        mock = world.fetch_mocks.find(method, url)
        if mock is not None:
            return mocked_response(mock, request)
        if world.case.allow_network:
            return await network_fetch(request)
        raise RunnerProblem(unmocked_message(method, url))

    async def may_execute(self, automation: dict[str, Any], user_id: str | None) -> bool:
        return self.world.may_execute(automation, user_id)

    async def resolve_call(self, caller: str, name: str) -> CallTarget | None:
        return self.world.resolve_call(caller, name)
