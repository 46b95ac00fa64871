"""Streamed fetch responses (spec §3.9): output items, concatenation, throttling, chunk events.

Pure workflow code. The fetch activity reads the whole stream and returns its chunks
``{data: [...], event?, id?, retry?, comment?}`` (with the ms offset of each chunk when a
throttle is asked); everything here is derived from that result only, so it replays the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from language import UNDEFINED, get_path
from schemas.errors import InvalidEventError, InvalidInstructionError
from schemas.events import event_type_problem
from workflows.interpreter.frames import Frame

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter

FLUSH_EVERY_EVENTS = 100  # chunk events handed to one flush at most (keeps flush payloads small)


def stream_options(value: Any) -> dict[str, Any] | None:
    """The fetch's ``stream`` object (None when absent); checks ``event`` before any request."""
    if value is None or value is UNDEFINED:
        return None
    if not isinstance(value, dict):
        raise InvalidInstructionError("fetch.stream must be an object {event, payload?, concatenate?}",
                                      {"stream": value})
    event = value.get("event")
    if event is not None and (problem := event_type_problem(event)) is not None:
        raise InvalidEventError(f"Invalid event name: {problem}", {"event": event})
    return value


def _concatenate_path(stream: dict[str, Any] | None) -> tuple[bool, str | None]:
    option = (stream or {}).get("concatenate")
    if option is True:
        return True, None
    if isinstance(option, dict):
        path = option.get("path")
        return True, path if isinstance(path, str) and path else None
    return False, None


def _piece(entry: Any, path: str | None) -> str:
    """The text one data entry adds to ``concatenated.value``: the entry (or the value at
    ``path`` in it) when it is a string or a number, else nothing."""
    value = entry if path is None else get_path({"item": entry}, "item" + ("" if path.startswith("[") else ".") + path)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def stream_items(chunks: Sequence[Any], stream: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``[{index, chunk, concatenated?: {value}, additionalPayload?}]`` in stream order."""
    concatenate, path = _concatenate_path(stream)
    extra = (stream or {}).get("payload")
    text = ""
    items: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunks):
        item: dict[str, Any] = {"index": index, "chunk": chunk}
        if concatenate:
            data = chunk.get("data") if isinstance(chunk, dict) else None
            for entry in data if isinstance(data, list) else []:
                text += _piece(entry, path)
            item["concatenated"] = {"value": text}
        if extra is not None and extra is not UNDEFINED:
            item["additionalPayload"] = extra
        items.append(item)
    return items


def throttled(times: Sequence[int], throttle_ms: float) -> list[int]:
    """Indices of the chunks a leading+trailing throttle of ``throttle_ms`` sends, computed from
    the arrival offsets recorded by the activity; the last chunk is always sent (flush)."""
    sent: list[int] = []
    last: float | None = None
    pending: int | None = None
    for index, at in enumerate(times):
        if pending is not None and last is not None and at >= last + throttle_ms:
            sent.append(pending)  # the trailing send of the previous window
            last, pending = last + throttle_ms, None
        if last is None or at - last >= throttle_ms:
            sent.append(index)
            last = at
        else:
            pending = index
    if pending is not None:
        sent.append(pending)
    return sent


async def emit_chunks(it: Interpreter, frame: Frame, stream: dict[str, Any], items: list[dict[str, Any]],
                      times: Sequence[int] | None) -> int:
    """Emit ``stream.event`` once per item (or per throttled item) through the run's normal emit
    path: prefixed in app instances, size-checked, charged to the ``emits`` rate limit, persisted
    and dispatched to listeners and waits by the flushes. Returns the number of events."""
    option = stream.get("concatenate")
    throttle = option.get("throttle") if isinstance(option, dict) else None
    indices: Sequence[int] = range(len(items))
    if isinstance(throttle, int | float) and not isinstance(throttle, bool) and throttle > 0 and times is not None:
        indices = throttled(times, float(throttle))
    pending = 0
    for index in indices:
        it.events.custom(stream["event"], items[index], frame.slug, frame.depth, stream.get("target"),
                         stream.get("options"), frame.instance)
        it.charge("emits")
        pending += 1
        if pending >= FLUSH_EVERY_EVENTS or sum(e.size for e in it.events.buffer) >= it.limits.inline_value_bytes:
            await it.flush()
            pending = 0
    await it.flush()  # the chunks' listeners start as soon as the response has ended
    return len(indices)
