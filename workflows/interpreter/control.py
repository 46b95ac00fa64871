"""``try`` / ``catch`` / ``finally`` (docs/language.md): an error inside ``do`` runs ``catch``
with ``$error`` set, as the run's ``error`` event would have shown it; ``finally`` always runs."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from schemas.errors import TidewayError
from schemas.instructions import Try
from workflows.eviction import being_evicted
from workflows.interpreter.frames import BreakSignal, Frame

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter


def error_value(exc: TidewayError) -> dict[str, Any]:
    """``$error``: ``{error, message, details?}``, the body of the error event it replaces."""
    value: dict[str, Any] = {"error": exc.name, "message": exc.message}
    if exc.details is not None:
        value["details"] = exc.details
    return value


def break_value(signal: BreakSignal) -> dict[str, Any]:
    """``$error`` of a ``break: {scope: all}`` caught by a caller's ``try``: its payload when it
    reads as an error (``{error, message, details}``, the convention for break payloads), else
    ``{error: Break, message, details: <payload>}``."""
    payload = signal.payload
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        value = {"error": payload["error"], "message": str(payload.get("message") or payload["error"])}
        if "details" in payload:
            value["details"] = payload["details"]
        return value
    value = {"error": "Break", "message": "Stopped by break (scope: all)"}
    if payload is not None:
        value["details"] = payload
    return value


async def run_try(it: Interpreter, frame: Frame, node: Try, path: str) -> None:
    caught: dict[str, Any] | None = None
    try:
        await it.run_list(frame, node.do, f"{path}.try.do")
    except asyncio.CancelledError:
        if being_evicted():  # unwinding for the worker's cache: the run is not cancelled
            raise
        # The run is cancelled (POST …/runs/{id}/cancel): `finally` still runs, then the
        # cancellation goes on up; `catch` does not (a cancellation is no error of the automation).
        await it.run_list(frame, node.final, f"{path}.try.finally")
        raise
    except TidewayError as exc:
        caught = it.redact(error_value(exc))  # $error may be emitted: never a secret in clear
    except BreakSignal as signal:
        if signal.scope != "all":  # breaking this automation or a loop is no error: finally, then on
            await it.run_list(frame, node.final, f"{path}.try.finally")
            raise
        caught = break_value(signal)
    if caught is not None:
        frame.locals["$error"] = caught  # readable after the block too
        try:
            await it.run_list(frame, node.catch, f"{path}.try.catch")
        except (TidewayError, BreakSignal):
            await it.run_list(frame, node.final, f"{path}.try.finally")
            raise
    await it.run_list(frame, node.final, f"{path}.try.finally")
