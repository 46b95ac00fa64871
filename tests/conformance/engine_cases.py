"""Runs ``automations.yaml`` cases through the real engine (Temporal, database, worker)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import time
from contextlib import AsyncExitStack
from typing import Any

from sqlmodel import col, select

from core.access.members import MemberService
from core.infra.tables import Event as EventRow
from core.runs.triggers import send_events, trigger_test, trigger_webhook
from core.workspaces.purge import purge_workspace
from core.workspaces.root_fields import patch_root_fields
from schemas.dsul import WorkspaceSource
from schemas.errors import TidewayError
from tests.conformance.http_stub import HttpStub
from tests.conformance.matching import MISSING, matches
from tests.stack import Stack

DEFAULT_SOURCE = {"userId": "unitTests", "sessionId": "mysessionId"}

# Capabilities built so far; a case needing another one is skipped with the reason.
NOT_BUILT = {
    "secrets": "requires workspace secrets: access control and secrets (issue #6)",
}


# Native CRUD events in cases become the matching service calls: the engine never treats
# native events as commands.
NATIVE_COMMANDS = ("workspaces.automations.created", "workspaces.automations.updated",
                   "workspaces.automations.deleted", "workspaces.configured", "workspaces.apps.installed",
                   "workspaces.apps.configured", "workspaces.apps.uninstalled", "workspaces.deleted")


async def apply_native(stack: Stack, ws_id: str, event: dict[str, Any], actor: str | None = None) -> None:
    service = stack.services.workspaces
    instances = stack.services.app_instances
    automations = stack.services.automations
    payload = event.get("payload") or {}
    kind = event["type"]
    if kind == "workspaces.apps.installed":
        await instances.install(ws_id, {**payload["appInstance"], "slug": payload["slug"]}, actor=actor)
    elif kind == "workspaces.apps.configured":
        patch = {k: v for k, v in payload["appInstance"].items() if k != "appSlug"}
        await instances.configure(ws_id, payload["slug"], patch, actor=actor)
    elif kind == "workspaces.apps.uninstalled":
        await instances.uninstall(ws_id, payload["slug"], actor=actor)
    elif kind == "workspaces.deleted":
        await service.delete(ws_id, actor=actor)
    if kind == "workspaces.automations.created":
        await automations.save(ws_id, {**payload["automation"], "slug": payload["slug"]})
    elif kind == "workspaces.automations.updated":
        await automations.save(ws_id, payload["automation"], slug=payload.get("oldSlug") or payload["slug"])
    elif kind == "workspaces.automations.deleted":
        await automations.delete(ws_id, payload["automationSlug"])
    elif kind == "workspaces.configured":
        await patch_root_fields(service, ws_id, {"config": payload["config"]})


def _steps(case: dict[str, Any]) -> list[dict[str, Any]]:
    if "steps" in case:
        return list(case["steps"])
    return [{k: case[k] for k in ("trigger", "during", "expected") if k in case}]


def workspace_of(case: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    ws = case.get("workspace")
    if isinstance(ws, str):
        ws = shared.get("fixtures", {}).get("workspaces", {}).get(ws)
    ws = copy.deepcopy(ws or {})
    ws.setdefault("id", "ws")
    return ws


NATIVE_INSTRUCTIONS = {"set", "delete", "conditions", "repeat", "all", "break", "comment", "emit", "wait", "fetch",
                       "createUserTopic", "joinUserTopic", "rateLimit"}


def _instructions(value: Any) -> list[tuple[str, Any]]:
    """Every (name, argument) instruction nested in a ``do`` list."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and len(item) == 1:
                name, arg = next(iter(item.items()))
                out.append((name, arg))
                if name == "conditions" and isinstance(arg, dict):
                    for branch in arg.values():
                        out += _instructions(branch)
                elif name == "repeat" and isinstance(arg, dict):
                    out += _instructions(arg.get("do"))
                elif name == "all":
                    out += _instructions(arg)
    return out


def _uses_apps(case: dict[str, Any], ws: dict[str, Any]) -> bool:
    """Whether the steps of a case reach an app instance (then they need the apps capability)."""
    if case.get("apps"):
        return True
    automations: dict[str, Any] = ws.get("automations") or {}
    imports = set((ws.get("imports") or {}).keys())
    listeners: dict[str, list[str]] = {}
    endpoints: dict[str, str] = {}
    for slug, automation in automations.items():
        when = automation.get("when") or {}
        for event_type in when.get("events") or []:
            listeners.setdefault(event_type, []).append(slug)
        if when.get("endpoint") is True:
            endpoints[slug] = slug
        elif isinstance(when.get("endpoint"), str):
            endpoints[when["endpoint"]] = slug

    def app_event(name: Any) -> bool:
        return isinstance(name, str) and (name.split(".")[0] in imports or name.startswith("workspaces.apps.")
                                          or (name == "workspaces.deleted" and bool(imports)))

    todo: list[str] = []
    for step in _steps(case):
        trigger = step.get("trigger") or {}
        names = [e["emit"]["type"] for e in step.get("during") or []]
        if "webhook" in trigger:
            endpoint = str(trigger["webhook"]["automation"])
            if "." in endpoint:
                return True
            todo += [endpoints[endpoint]] if endpoint in endpoints else []
        if "event" in trigger:
            names.append(trigger["event"]["type"])
        if "test" in trigger:
            todo.append(trigger["test"]["automation"])
        for name in names:
            if app_event(name):
                return True
            todo += listeners.get(name, [])
        for event in (step.get("expected") or {}).get("events") or []:
            if any(k in (event.get("source") or {}) for k in ("appSlug", "appInstanceFullSlug")):
                return True
    seen: set[str] = set()
    while todo:
        slug = todo.pop()
        if slug in seen or slug not in automations:
            continue
        seen.add(slug)
        for name, arg in _instructions(automations[slug].get("do")):
            if name not in NATIVE_INSTRUCTIONS:
                if "." in name:
                    return True
                todo.append(name)
            elif name == "emit" and isinstance(arg, dict):
                if app_event(arg.get("event")):
                    return True
                todo += listeners.get(str(arg.get("event")), [])
    return False


def skip_reason(case: dict[str, Any], shared: dict[str, Any]) -> str | None:
    needs = set(case.get("requires") or []) - {"http"}
    ws = workspace_of(case, shared)
    if _uses_apps(case, ws):
        needs.add("apps")
    if case.get("secrets"):
        needs.add("secrets")
    for need in sorted(needs):
        if need in NOT_BUILT:
            return NOT_BUILT[need]
    return None


async def _max_seq(stack: Stack, ws_id: str) -> int:
    async with stack.services.db.session() as session:
        rows = (await session.exec(select(EventRow.seq).where(EventRow.workspace_id == ws_id)
                                   .order_by(col(EventRow.seq).desc()).limit(1))).all()
    return int(rows[0]) if rows else 0


async def _events_since(stack: Stack, ws_id: str, seq: int) -> list[dict[str, Any]]:
    from core.events.store import row_to_public

    async with stack.services.db.session() as session:
        rows = (await session.exec(select(EventRow).where(EventRow.workspace_id == ws_id, col(EventRow.seq) > seq)
                                   .order_by(col(EventRow.seq)))).all()
    return [row_to_public(r) for r in rows]


def _event_matches(expected: dict[str, Any], event: dict[str, Any]) -> bool:
    if "type" in expected and expected["type"] != event.get("type"):
        return False
    return all(matches(expected[k], event.get(k, MISSING), subset=True)
               for k in ("source", "payload", "target", "options") if k in expected)


async def run_automation_case(stack: Stack, case: dict[str, Any], shared: dict[str, Any]) -> None:
    ws = workspace_of(case, shared)
    ws_id = str(ws.pop("id"))
    async with AsyncExitStack() as exits:
        stub = None
        if case.get("http_stub"):
            stub = await exits.enter_async_context(HttpStub(case["http_stub"]))
            ws.setdefault("config", {}).setdefault("value", {})["stubUrl"] = stub.url
        for automation in (ws.get("automations") or {}).values():
            automation.setdefault("do", [])  # reference runtime models may omit an empty `do`
        saved_env = {k: os.environ.get(k) for k in case.get("env") or {}}
        os.environ.update({k: str(v) for k, v in (case.get("env") or {}).items()})
        exits.callback(_restore_env, saved_env)
        services = stack.services
        await purge_workspace(services.workspaces, ws_id)
        apps = {**(shared.get("fixtures", {}).get("apps") or {}), **(case.get("apps") or {})}
        for app_slug, app in apps.items():
            document = copy.deepcopy(app)
            document.pop("id", None)
            for automation in (document.get("automations") or {}).values():
                automation.setdefault("do", [])
            await services.apps.publish_document(app_slug, document)
        ws.setdefault("slug", f"conf-{ws_id.lower()}")
        permissions = case.get("permissions") or {}
        if permissions.get("custom_roles"):
            roles = permissions["custom_roles"]
            ws["security"] = {"authorizations": {
                "roles": {name: {} for name in roles},
                "rules": [{"role": name, **rule} for name, role in roles.items() for rule in role.get("rules") or []]}}
        await services.workspaces.create(WorkspaceSource.from_document(ws), workspace_id=ws_id, validate=False)
        members = MemberService(services.db)
        for user_id, role in (permissions.get("members") or {}).items():
            await members.set_role(ws_id, user_id, role)
        exits.push_async_callback(purge_workspace, services.workspaces, ws_id)
        for index, step in enumerate(_steps(case)):
            await _run_step(stack, ws_id, step, stub, f"step {index}")


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


async def _inject(stack: Stack, ws_id: str, during: list[dict[str, Any]], source: dict[str, Any]) -> None:
    for item in during:
        await asyncio.sleep(item.get("after_ms", 0) / 1000)
        emit = item["emit"]
        await send_events(stack.services, ws_id, [{"type": emit["type"], "payload": emit.get("payload") or {}}],
                          user_id=source.get("userId"), session_id=source.get("sessionId"))


async def _run_step(stack: Stack, ws_id: str, step: dict[str, Any], stub: HttpStub | None, label: str) -> None:
    trigger = step["trigger"]
    expected = step.get("expected") or {}
    source = trigger.get("source") or DEFAULT_SOURCE
    before = await _max_seq(stack, ws_id)
    if stub:
        stub.requests.clear()
    output: Any = MISSING
    error: dict[str, Any] | None = None
    injector = asyncio.create_task(_inject(stack, ws_id, step.get("during") or [], source))
    try:
        if "event" in trigger and trigger["event"].get("native"):
            await apply_native(stack, ws_id, trigger["event"], source.get("userId"))
        elif "event" in trigger:
            event = trigger["event"]
            await send_events(stack.services, ws_id, [{"type": event["type"], "payload": event.get("payload") or {}}],
                              user_id=source.get("userId"), session_id=source.get("sessionId"),
                              allow_native=bool(event.get("native")))
        elif "webhook" in trigger:
            hook = trigger["webhook"]
            outcome = await trigger_webhook(
                stack.services, ws_id, str(hook["automation"]), method=str(hook.get("method", "post")),
                headers=hook.get("headers") or {}, query=hook.get("query") or {}, body=hook.get("body") or {},
                user_id=source.get("userId"), session_id=source.get("sessionId"))
            output = outcome.output
        else:
            test = trigger["test"]
            outcome = await trigger_test(stack.services, ws_id, str(test["automation"]), test.get("payload") or {},
                                         user_id=source.get("userId"), session_id=source.get("sessionId"))
            output = outcome.output
    except TidewayError as exc:
        error = exc.to_dict()
    finally:
        await injector
    wanted = expected.get("events") or []
    deadline = time.monotonic() + expected.get("timeout_ms", 6000) / 1000
    events = await _events_since(stack, ws_id, before)
    while not all(any(_event_matches(w, e) for e in events) for w in wanted) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        events = await _events_since(stack, ws_id, before)
    if expected.get("events_absent") or "settle_ms" in expected:
        await asyncio.sleep(expected.get("settle_ms", 400) / 1000)
        events = await _events_since(stack, ws_id, before)
    dump = json.dumps({"output": None if output is MISSING else output, "error": error, "events": events},
                      indent=1, default=str)[:20000]
    if "error" in expected:
        assert error is not None, f"{label}: expected error {expected['error']}, got output {output!r}"
        assert matches(expected["error"], error, subset=True), f"{label}: error mismatch\n{dump}"
    elif "output" in expected or "output_match" in expected:
        assert error is None, f"{label}: run failed: {error}"
    if "output" in expected:
        assert matches(expected["output"], output, subset=False), f"{label}: output mismatch\n{dump}"
    if "output_match" in expected:
        assert matches(expected["output_match"], output, subset=True), f"{label}: output mismatch\n{dump}"
    for item in wanted:
        assert any(_event_matches(item, e) for e in events), f"{label}: no event matches {item}\n{dump}"
    for unwanted in expected.get("events_absent") or []:
        assert not any(_event_matches(unwanted, e) for e in events), f"{label}: unexpected event {unwanted}\n{dump}"
    if "http_requests" in expected:
        assert stub is not None
        assert matches(expected["http_requests"], stub.requests, subset=True), (
            f"{label}: requests mismatch {json.dumps(stub.requests, indent=1)[:3000]}")
