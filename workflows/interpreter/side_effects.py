"""Instructions with side effects: emit (buffered event) and fetch (activity)."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInstructionError, TidewayError
from workflows.interpreter.engine import Interpreter, instruction
from workflows.interpreter.frames import Frame
from workflows.interpreter.values import js_type_name, strip_undefined
from workflows.language import UNDEFINED


@instruction("emit")
async def run_emit(it: Interpreter, frame: Frame, arg: Any, path: str) -> Any:
    if not isinstance(arg, dict):
        raise InvalidInstructionError("'emit' expects an object {event, payload?}")
    args = it.render(frame, arg)
    name = args.get("event")
    payload = args.get("payload", UNDEFINED)
    if payload is None or payload is UNDEFINED:
        payload = {}
    if not isinstance(payload, dict):
        # Reported, not thrown: the automation goes on (spec §3.7).
        it.events.native("error", {
            "error": "InvalidEventError",
            "message": f"Event payload must be an object, received {js_type_name(payload)}",
            "details": {"event": name, "payload": strip_undefined(payload)},
        }, frame.slug, frame.depth)
        return UNDEFINED
    event = it.events.custom(name, payload, frame.slug, frame.depth, args.get("target"), args.get("options"))
    return event.to_public()


class FetchError(TidewayError):
    default_message = "Request failed"


FETCH_FIELDS = ("url", "method", "headers", "query", "body", "multipart", "outputMode", "emitErrors", "stream")


@instruction("fetch")
async def run_fetch(it: Interpreter, frame: Frame, arg: Any, path: str) -> Any:
    if not isinstance(arg, dict):
        raise InvalidInstructionError("'fetch' expects an object {url, ...}")
    args = strip_undefined(it.render(frame, arg))
    url = args.get("url")
    if not url or not isinstance(url, str):
        raise InvalidInstructionError("fetch needs a non-empty url", {"url": url})
    method = args.get("method")
    if not method:  # DECISIONS 13: POST when a body is given, else GET
        method = "POST" if args.get("body") is not None or args.get("multipart") else "GET"
    request = {k: args[k] for k in FETCH_FIELDS if k in args}
    request["method"] = str(method).upper()
    request["correlationId"] = it.run.correlation_id
    request["workspaceId"] = it.run.workspace.id
    response = await it.effects.fetch(request)
    status = response.get("status", 0)
    if response.get("error"):
        raise FetchError(response["error"], {"url": url, "method": request["method"]})
    if status >= 400 and args.get("emitErrors", True) is not False:
        shown = {k: v for k, v in args.items() if k != "output"}
        it.events.native("runtime.fetch.failed", {
            "request": shown,
            "response": {"status": status, "body": response.get("body"), "headers": response.get("headers")},
        }, frame.slug, frame.depth)
    mode = args.get("outputMode") or "body"
    if mode == "detailed_response":
        return {"headers": response.get("headers"), "status": status, "body": response.get("body"),
                "stream": False}
    if mode == "data_url":
        return response.get("data_url")
    return response.get("body")


@instruction("wait")
async def run_wait(it: Interpreter, frame: Frame, arg: Any, path: str) -> Any:
    raise InvalidInstructionError(
        "The 'wait' instruction is not available yet in this Tideway version (it arrives with the events capability)",
        {"instruction": path})
