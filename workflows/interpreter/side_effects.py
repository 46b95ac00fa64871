"""Instructions with side effects: emit (buffered event), fetch (activity) and wait."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from language import UNDEFINED
from language.secrets import REDACTED
from language.values import js_type_name, strip_undefined
from schemas.errors import InvalidInstructionError, TidewayError
from schemas.instructions import Emit, Fetch, Wait
from schemas.runs import WaitRequest
from workflows.interpreter.fetch_stream import emit_chunks, stream_items, stream_options
from workflows.interpreter.frames import Frame

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter


def run_emit(it: Interpreter, frame: Frame, node: Emit) -> Any:
    step = it.tracer.current  # this instruction's step (begun just before, without an await)
    name = it.render(frame, node.event)
    payload = it.render(frame, node.payload) if "payload" in node.model_fields_set else UNDEFINED
    if payload is None or payload is UNDEFINED:
        payload = {}
    if not isinstance(payload, dict):
        # Reported, not thrown: the automation goes on (spec §3.7).
        error_type = f"{frame.instance.full_slug}.error" if frame.instance.full_slug else "error"
        it.events.native(error_type, {
            "error": "InvalidEventError",
            "message": f"Event payload must be an object, received {js_type_name(payload)}",
            "details": {"event": name, "payload": strip_undefined(payload)},
        }, frame.slug, frame.depth, instance=frame.instance)
        return UNDEFINED
    target = strip_undefined(it.render(frame, node.target)) if node.target is not None else None
    options = strip_undefined(it.render(frame, node.options)) if node.options is not None else None
    event = it.events.custom(name, payload, frame.slug, frame.depth, target, options, frame.instance)
    it.charge("emits")
    if frame.trace == "values":
        it.tracer.note(step, {"id": event.id, "type": event.type})
    return event.to_public()


class FetchError(TidewayError):
    default_message = "Request failed"


async def run_fetch(it: Interpreter, frame: Frame, node: Fetch) -> Any:
    step = it.tracer.current  # this instruction's step (begun just before, without an await)
    args = strip_undefined(it.render(frame, node.request_fields()))
    url = args.get("url")
    if not url or not isinstance(url, str):
        raise InvalidInstructionError("fetch needs a non-empty url", {"url": url})
    stream = stream_options(args.get("stream"))
    method = args.get("method")
    if not method:  # DECISIONS 13: POST when a body is given, else GET
        method = "POST" if args.get("body") is not None or args.get("multipart") else "GET"
    request = dict(args)
    request["method"] = str(method).upper()
    request["correlationId"] = it.run.correlation_id
    request["workspaceId"] = it.run.workspace.id
    request["maxChunks"] = it.limits.fetch_stream_max_chunks
    request["maxBytes"] = it.limits.fetch_stream_max_bytes
    auth = args.get("auth")
    if isinstance(auth, dict) and auth.get("prismeai"):
        # forwardWorkspaceAuth: the activity mints a token acting for the run's user (docs/fetch.md)
        request["runUser"] = {"userId": it.run.user_id, "sessionId": it.run.session_id}
    it.charge("fetchs")
    if it.events.buffer or it.ctx.writes:
        await it.flush()  # listeners of earlier emits start now, not after a slow request
    response = await it.effects.fetch(request)
    status = response.get("status", 0)
    if frame.trace == "values":
        it.tracer.note(step, {"status": status, "body": response.get("body")})
    if response.get("error"):
        raise FetchError(response["error"], {"url": url, "method": request["method"]})
    body = response.get("body")
    items: list[dict[str, Any]] = []
    if response.get("stream"):  # SSE, or `stream` set: the chunks become items (spec §3.9)
        body = items = stream_items(body if isinstance(body, list) else [], stream)
    if status >= 400 and args.get("emitErrors", True) is not False:
        shown = {k: v for k, v in args.items() if k != "output"}
        if "auth" in shown:  # credentials never reach an event, even written as literals
            shown["auth"] = {kind: value if kind == "prismeai" else REDACTED for kind, value in auth.items()} \
                if isinstance(auth, dict) else REDACTED
        it.events.native("runtime.fetch.failed", {
            "request": shown,
            "response": {"status": status, "body": body, "headers": response.get("headers")},
        }, frame.slug, frame.depth, instance=frame.instance)
    if response.get("stream"):
        if stream is not None and stream.get("event"):
            await emit_chunks(it, frame, stream, items, response.get("times"))
        # outputMode is forced to detailed_response; the body is the list of items
        return {"headers": response.get("headers"), "status": status, "body": body, "stream": True}
    mode = args.get("outputMode") or "body"
    if mode == "detailed_response":
        return {"headers": response.get("headers"), "status": status, "body": body, "stream": False}
    if mode == "data_url":  # the activity put the data URL in the body
        return body if response.get("data_url") else UNDEFINED
    if mode == "base64":  # the activity put the body's bytes, base64-encoded, in the body
        return body if response.get("base64") else UNDEFINED
    return body


async def run_sleep(it: Interpreter, frame: Frame, node: Wait) -> Any:
    """``wait`` with only a ``timeout``: a durable sleep (a Temporal timer: it survives restarts
    and holds no worker while it runs, for seconds or months)."""
    seconds = strip_undefined(it.render(frame, node.timeout))
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
        raise InvalidInstructionError(f"wait.timeout (a sleep) must be a positive number of seconds, got {seconds!r}",
                                      {"field": "timeout"})
    it.status = "waiting"
    await it.flush()  # what the run did so far is visible while it sleeps
    await it.effects.sleep(float(seconds))
    it.status = "running"
    return UNDEFINED


async def run_wait(it: Interpreter, frame: Frame, node: Wait) -> Any:
    """Block until one of ``oneOf`` is emitted (filters over the whole event) or the timeout."""
    if node.one_of is None:
        return await run_sleep(it, frame, node)
    one_of = strip_undefined(it.render(frame, node.one_of))
    if not isinstance(one_of, list) or not one_of:
        raise InvalidInstructionError("wait.oneOf must be a non-empty list of {event, filters?, cancelTriggers?}")
    types: list[str] = []
    filters: list[dict[str, Any] | None] = []
    cancels: list[bool] = []
    for index, entry in enumerate(one_of):
        if not isinstance(entry, dict) or not isinstance(entry.get("event"), str) or not entry["event"]:
            raise InvalidInstructionError(f"wait.oneOf[{index}] needs an event name", {"entry": entry})
        event_type = entry["event"]
        if frame.instance.full_slug and event_type != "runtime.automations.executed":
            event_type = f"{frame.instance.full_slug}.{event_type}"  # waits inside an app hear prefixed names
        types.append(event_type)
        filters.append(entry.get("filters") if isinstance(entry.get("filters"), dict) else None)
        cancels.append(entry.get("cancelTriggers") is True)
    timeout = strip_undefined(it.render(frame, node.timeout)) if node.timeout is not None else None
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        timeout = it.limits.wait_default_timeout  # absent or 0 means the default (spec §3.8)
    wait = {"oneOf": one_of, "timeout": timeout}
    event = await wait_for(it, types, filters, cancels, float(timeout), frame)
    if event is None:
        it.events.native("runtime.waits.timeout", {"wait": wait}, frame.slug, frame.depth,  # DECISIONS 2
                         instance=frame.instance)
        return UNDEFINED
    prefix = f"{frame.instance.full_slug}."
    if frame.instance.full_slug and str(event.get("type", "")).startswith(prefix):
        # The instance reads its own events by their local name (docs/apps.md); the log keeps
        # the full one (the runtime.waits.fulfilled event above).
        event = {**event, "type": event["type"][len(prefix):]}
    return event


async def wait_for(it: Interpreter, types: list[str], filters: list[dict[str, Any] | None], cancels: list[bool],
                   timeout: float, frame: Frame) -> dict[str, Any] | None:
    """Register a wait from the run's watermark and block on its signal (DESIGN "Waiting")."""
    wait_id = it.effects.new_id()
    expires = it.effects.now() + timedelta(seconds=timeout)
    wait_info = {"oneOf": [{"event": t, "filters": f} for t, f in zip(types, filters, strict=True)],
                 "timeout": timeout}
    pending = it.events.native("runtime.waits.pending", {
        "id": wait_id, "expiresAt": expires.isoformat().replace("+00:00", "Z"), "wait": wait_info},
        frame.slug, frame.depth, instance=frame.instance)
    # The wait's own pending event is persisted now but is not part of the watermark: a reply
    # persisted before it must still be found.
    it.status = "waiting"
    watermark = await it.flush(not_watermark=(pending.id,)) or it.run.after_seq
    request = WaitRequest(wait_id=wait_id, workspace_id=it.run.workspace.id,
                          workflow_id=it.effects.workflow_id, event_types=types, filters=filters,
                          cancel_triggers=cancels, after_seq=max(watermark, it.run.after_seq),
                          timeout=timeout)
    event = await it.effects.wait_for_event(request)
    it.status = "running"
    if event is not None:
        it.events.native("runtime.waits.fulfilled", {"id": wait_id, "event": event}, frame.slug,
                           frame.depth, instance=frame.instance)
        await it.ctx.reload()  # other runs may have changed the shared contexts
    return event
