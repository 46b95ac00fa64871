"""Native instructions that run purely in workflow code (spec §3.1–3.6, §3.12). Each takes its
typed node (schemas/instructions.py); fields are interpolated as the instruction runs."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from language import UNDEFINED, evaluate_condition
from language.values import strip_undefined
from language.variables import assign_path, remove_path, split_name
from schemas.errors import InvalidInstructionError, TooManyBranchesError
from schemas.instructions import All, Break, Conditions, Delete, Repeat, Set
from workflows.interpreter.frames import BreakSignal, Frame

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter

PERSISTED_CONTEXTS = ("global", "user", "session", "run")
MAX_PARALLEL_BRANCHES = 1000  # `all` branches alive at once in one run (docs/decisions.md)


def _value(it: Interpreter, frame: Frame, value: Any, literal: bool) -> Any:
    return value if literal else it.render(frame, value)


async def run_set(it: Interpreter, frame: Frame, node: Set, literal: bool = False) -> Any:
    name = _value(it, frame, node.name, literal)
    value = _value(it, frame, node.value, literal)
    if frame.trace == "values":  # the step begun for this instruction is the tracer's latest
        it.tracer.note(it.tracer.current, {"name": name, "value": value})
    if name == "$http" or (isinstance(name, str) and name.startswith("$http.")):
        _set_http(it, frame, name, value)
        return UNDEFINED
    var_path, push = split_name(name)
    kind = "push" if push else (_value(it, frame, node.type, literal) if node.type is not None else None) or "replace"
    if var_path in (["user", "id"], ["session", "id"]) and value is not UNDEFINED and value is not None:
        current = it.user_id if var_path[0] == "user" else it.session_id
        if str(value) != current:
            await it.switch_identity(str(var_path[0]), value)
        return UNDEFINED
    assign_path(frame.scope.contexts, frame.locals, var_path, value, kind)
    if var_path[0] in PERSISTED_CONTEXTS:
        it.record_write(frame, str(var_path[0]), var_path[1:], value, kind)
    return UNDEFINED


SSE_KEEPALIVE_MIN_MS = 5000  # spec §2.2: sseKeepAlive has a 5 s minimum


def _set_http(it: Interpreter, frame: Frame, name: str, value: Any) -> None:
    if not frame.http_response:
        return  # $http exists only in the automation started by the webhook
    updates = value if name == "$http" else {name.split(".", 1)[1]: value}
    if not isinstance(updates, dict):
        raise InvalidInstructionError("$http expects an object {status?, headers?, chunk?, sseKeepAlive?}")
    if "status" in updates:
        status = updates["status"]
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise InvalidInstructionError(f"$http.status must be an HTTP status code, got {status!r}")
        it.http.status = status
    headers = updates.get("headers")
    if isinstance(headers, dict):
        it.http.headers.update({str(k): str(v) for k, v in headers.items() if v is not UNDEFINED})
    if "sseKeepAlive" in updates:
        keepalive = updates["sseKeepAlive"]
        if not isinstance(keepalive, int) or isinstance(keepalive, bool) or keepalive <= 0:
            raise InvalidInstructionError(f"$http.sseKeepAlive must be a number of milliseconds, got {keepalive!r}")
        it.http.keepalive_ms = max(keepalive, SSE_KEEPALIVE_MIN_MS)
    chunk = updates.get("chunk", UNDEFINED)
    if chunk is not UNDEFINED:
        # Taken by the API through the workflow's `http_chunks` update while the run goes on
        # (workflows/automation.py); the response turns into Server-Sent Events.
        it.http.chunks.append(strip_undefined(chunk))


def run_delete(it: Interpreter, frame: Frame, node: Delete, literal: bool = False) -> Any:
    var_path, _ = split_name(_value(it, frame, node.name, literal))
    remove_path(frame.scope.contexts, frame.locals, var_path)
    if var_path[0] in PERSISTED_CONTEXTS:
        it.record_write(frame, str(var_path[0]), var_path[1:], None, "delete")
    return UNDEFINED


def run_break(it: Interpreter, frame: Frame, node: Break) -> Any:
    # A field rendered to undefined counts as absent, as it does in a rendered instruction object.
    scope = (it.render(frame, node.scope) if node.scope is not None else None) or "automation"
    if scope not in BREAK_SCOPES:
        raise InvalidInstructionError(f"break scope must be 'automation', 'all' or 'repeat', got {scope!r}")
    payload = strip_undefined(it.render(frame, node.payload)) if node.payload is not None else None
    raise BreakSignal(scope, payload)


BREAK_SCOPES = ("automation", "all", "repeat")


async def run_conditions(it: Interpreter, frame: Frame, node: Conditions, path: str) -> Any:
    # Keys are not interpolated beforehand: the expression language resolves {{vars}}
    # inside them with their types kept (spec §3.3).
    it.render(frame, None)  # refresh run.date for the expressions
    for key, branch in node.branches:
        if evaluate_condition(key, frame.scope, env=it.effects.env):
            await it.run_list(frame, branch, f"{path}.conditions[{key!r}]")
            return UNDEFINED
    if node.default is not None:
        await it.run_list(frame, node.default, f"{path}.conditions.default")
    return UNDEFINED


def _iteration_items(on: Any) -> list[Any]:
    if on is None or on is UNDEFINED:
        return []
    if isinstance(on, bool):
        raise InvalidInstructionError("repeat.on must be a list, an object or a number")
    if isinstance(on, int | float):
        return list(range(int(on)))  # DECISIONS 14: `on: N` runs N times
    if isinstance(on, str):
        raise InvalidInstructionError(
            "repeat.on is a string; give a list, an object or a number (DECISIONS 14)", {"on": on})
    if isinstance(on, dict):
        return [{"key": k, "value": v} for k, v in on.items()]
    if isinstance(on, list):
        return on
    raise InvalidInstructionError("repeat.on must be a list, an object or a number")


async def run_repeat(it: Interpreter, frame: Frame, node: Repeat, path: str) -> Any:
    items = _iteration_items(it.render(frame, node.on) if node.has_on else UNDEFINED)
    until = it.render(frame, node.until) if node.until is not None else UNDEFINED
    if until is not UNDEFINED and until is not None:
        if not isinstance(until, int | float) or isinstance(until, bool):
            raise InvalidInstructionError(f"repeat.until must be a number, got {until!r}")
        until = int(until)
        count = until if (not items or until < len(items)) else len(items)
    else:
        count = len(items)
    local_vars = frame.locals
    saved = (local_vars.get("item", UNDEFINED), local_vars.get("$index", UNDEFINED))
    outer_iteration = frame.iteration
    it.charge("repeats", count)
    try:
        for index in range(count):
            local_vars["item"] = items[index] if index < len(items) else index
            local_vars["$index"] = index
            frame.iteration = index
            try:
                await it.run_list(frame, node.do, f"{path}.repeat.do")
            except BreakSignal as signal:
                if signal.scope != "repeat":
                    raise
                break  # `break: {scope: repeat}` leaves the nearest loop
    finally:
        frame.iteration = outer_iteration
        # Loops restore the outer item and $index (DECISIONS 14).
        for key, value in zip(("item", "$index"), saved, strict=True):
            if value is UNDEFINED:
                local_vars.pop(key, None)
            else:
                local_vars[key] = value
    return UNDEFINED


async def run_all(it: Interpreter, frame: Frame, node: All, path: str) -> Any:
    branches = node.branches
    if it.branches + len(branches) > MAX_PARALLEL_BRANCHES:
        raise TooManyBranchesError(
            f"'all' would run more than {MAX_PARALLEL_BRANCHES} branches at once in this run",
            {"limit": MAX_PARALLEL_BRANCHES})
    it.branches += len(branches)
    # Each branch is interpolated when it runs (not the whole list up front). The first branch to
    # fail stops its siblings (in branch order when several fail in the same step).
    tasks = [asyncio.ensure_future(it.run_instruction(frame, item, f"{path}.all[{i}]"))
             for i, item in enumerate(branches)]
    try:
        if tasks:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
        return UNDEFINED
    finally:
        # Whether a branch failed or this `all` is itself cancelled (a sibling `all` further up
        # failed), no branch may outlive it: an orphan would go on issuing commands after the
        # workflow has failed, which Temporal refuses ("FailWorkflowExecution must be the last
        # command"), and the run would retry its workflow task forever.
        await _stop(tasks)
        it.branches -= len(branches)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the unfinished tasks and wait until every one has ended, even when the caller is
    cancelled meanwhile (the cancellation is passed on once they have)."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    cancelled = False
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            cancelled = True
        pending = [t for t in pending if not t.done()]
    for task in tasks:  # a sibling's error after the first one is dropped, not logged as unretrieved
        if not task.cancelled():
            task.exception()
    if cancelled:
        raise asyncio.CancelledError()
