"""Runs ``automations.yaml`` cases through the real engine (Temporal, database, worker)."""

from __future__ import annotations

import copy
import json
import os
from contextlib import AsyncExitStack
from typing import Any

from sqlmodel import col, select

from core.errors import TidewayError
from core.models import Event as EventRow
from core.triggers import trigger_test, trigger_webhook
from schemas.dsul import WorkspaceSource
from tests.conformance.http_stub import HttpStub
from tests.conformance.matching import MISSING, matches
from tests.stack import Stack

DEFAULT_SOURCE = {"userId": "unitTests", "sessionId": "mysessionId"}

# Capabilities built so far; a case needing another one is skipped with the reason.
NOT_BUILT = {
    "permissions": "requires 'permissions': the permission engine comes with access control (issue #6)",
    "events": "requires event triggers / waits / live delivery: the events capability (issue #4)",
    "apps": "requires app instances: the apps capability (issue #5)",
    "secrets": "requires workspace secrets: access control and secrets (issue #6)",
    "contexts": "requires persistent user/session/global contexts across runs: the events capability (issue #4)",
}


# Native CRUD events in cases become the matching service calls: the engine never treats
# native events as commands.
NATIVE_COMMANDS = ("workspaces.automations.created", "workspaces.automations.updated",
                   "workspaces.automations.deleted", "workspaces.configured")


async def apply_native(stack: Stack, ws_id: str, event: dict[str, Any]) -> None:
    service = stack.services.workspaces
    payload = event.get("payload") or {}
    kind = event["type"]
    if kind == "workspaces.automations.created":
        await service.save_automation(ws_id, {**payload["automation"], "slug": payload["slug"]})
    elif kind == "workspaces.automations.updated":
        await service.save_automation(ws_id, payload["automation"], slug=payload.get("oldSlug") or payload["slug"])
    elif kind == "workspaces.automations.deleted":
        await service.delete_automation(ws_id, payload["automationSlug"])
    elif kind == "workspaces.configured":
        await service.patch(ws_id, {"config": payload["config"]})


def _steps(case: dict[str, Any]) -> list[dict[str, Any]]:
    if "steps" in case:
        return list(case["steps"])
    return [{k: case[k] for k in ("trigger", "during", "expected") if k in case}]


def _uses_instruction(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        return name in value or any(_uses_instruction(v, name) for v in value.values())
    if isinstance(value, list):
        return any(_uses_instruction(v, name) for v in value)
    return False


def workspace_of(case: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    ws = case.get("workspace")
    if isinstance(ws, str):
        ws = shared.get("fixtures", {}).get("workspaces", {}).get(ws)
    ws = copy.deepcopy(ws or {})
    ws.setdefault("id", "ws")
    return ws


def skip_reason(case: dict[str, Any], shared: dict[str, Any]) -> str | None:
    needs = set(case.get("requires") or []) - {"http"}
    ws = workspace_of(case, shared)
    steps = _steps(case)
    for step in steps:
        event = (step.get("trigger") or {}).get("event")
        if step.get("during") or (event is not None and not (event.get("native") and event.get("type") in NATIVE_COMMANDS)):
            needs.add("events")
    if _uses_instruction(ws.get("automations"), "wait"):
        needs.add("events")
    for step in steps:
        for event in (step.get("expected") or {}).get("events") or []:
            if (event.get("options") or {}).get("persist") is False:
                needs.add("events")  # observing a non-persisted event needs live delivery
    if ws.get("imports") or case.get("apps"):
        needs.add("apps")
    if case.get("secrets"):
        needs.add("secrets")
    if len(steps) > 1 and _uses_instruction(ws.get("automations"), "set") and any(
            isinstance(v, str) and v.split(".")[0] in ("global", "user", "session")
            for v in _names_set(ws.get("automations"))):
        needs.add("contexts")
    for need in sorted(needs):
        if need in NOT_BUILT:
            return NOT_BUILT[need]
    return None


def _names_set(value: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(value, dict):
        if isinstance(value.get("set"), dict):
            out.append(value["set"].get("name"))
        for v in value.values():
            out += _names_set(v)
    elif isinstance(value, list):
        for v in value:
            out += _names_set(v)
    return out


async def _max_seq(stack: Stack, ws_id: str) -> int:
    async with stack.services.db.session() as session:
        rows = (await session.exec(select(EventRow.seq).where(EventRow.workspace_id == ws_id)
                                   .order_by(col(EventRow.seq).desc()).limit(1))).all()
    return int(rows[0]) if rows else 0


async def _events_since(stack: Stack, ws_id: str, seq: int) -> list[dict[str, Any]]:
    from core.eventstore import row_to_public

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
        await services.workspaces.purge(ws_id)
        ws.setdefault("slug", f"conf-{ws_id.lower()}")
        await services.workspaces.create(WorkspaceSource.from_document(ws), workspace_id=ws_id, validate=False)
        exits.push_async_callback(services.workspaces.purge, ws_id)
        for index, step in enumerate(_steps(case)):
            await _run_step(stack, ws_id, step, stub, f"step {index}")


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


async def _run_step(stack: Stack, ws_id: str, step: dict[str, Any], stub: HttpStub | None, label: str) -> None:
    trigger = step["trigger"]
    expected = step.get("expected") or {}
    source = trigger.get("source") or DEFAULT_SOURCE
    before = await _max_seq(stack, ws_id)
    if stub:
        stub.requests.clear()
    output: Any = MISSING
    error: dict[str, Any] | None = None
    try:
        if "event" in trigger:
            await apply_native(stack, ws_id, trigger["event"])
            return
        if "webhook" in trigger:
            hook = trigger["webhook"]
            outcome = await trigger_webhook(
                stack.services, ws_id, str(hook["automation"]), method=str(hook.get("method", "post")),
                headers=hook.get("headers") or {}, query=hook.get("query") or {}, body=hook.get("body") or {},
                user_id=source.get("userId"), session_id=source.get("sessionId"))
        else:
            test = trigger["test"]
            outcome = await trigger_test(stack.services, ws_id, str(test["automation"]), test.get("payload") or {},
                                         user_id=source.get("userId"), session_id=source.get("sessionId"))
        output = outcome.output
    except TidewayError as exc:
        error = exc.to_dict()
    events = await _events_since(stack, ws_id, before)
    dump = json.dumps({"output": None if output is MISSING else output, "error": error, "events": events},
                      indent=1, default=str)[:6000]
    if "error" in expected:
        assert error is not None, f"{label}: expected error {expected['error']}, got output {output!r}"
        assert matches(expected["error"], error, subset=True), f"{label}: error mismatch\n{dump}"
    elif "output" in expected or "output_match" in expected:
        assert error is None, f"{label}: run failed: {error}"
    if "output" in expected:
        assert matches(expected["output"], output, subset=False), f"{label}: output mismatch\n{dump}"
    if "output_match" in expected:
        assert matches(expected["output_match"], output, subset=True), f"{label}: output mismatch\n{dump}"
    for wanted in expected.get("events") or []:
        assert any(_event_matches(wanted, e) for e in events), f"{label}: no event matches {wanted}\n{dump}"
    for unwanted in expected.get("events_absent") or []:
        assert not any(_event_matches(unwanted, e) for e in events), f"{label}: unexpected event {unwanted}"
    if "http_requests" in expected:
        assert stub is not None
        assert matches(expected["http_requests"], stub.requests, subset=True), (
            f"{label}: requests mismatch {json.dumps(stub.requests, indent=1)[:3000]}")
