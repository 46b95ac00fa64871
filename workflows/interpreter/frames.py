"""Per-run and per-call state of the interpreter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from language.variables import Scope
from schemas.automations import Automation
from schemas.runs import InstanceInfo


class BreakSignal(Exception):
    """Raised by ``break``; caught by the automation (and its callers for ``scope: all``)."""

    def __init__(self, scope: str = "automation", payload: Any = None):
        super().__init__(scope)
        self.scope = scope
        self.payload = payload


@dataclass(slots=True)
class Frame:
    """One automation execution: its locals and where it sits in the call chain."""

    slug: str
    automation: Automation
    locals: dict[str, Any]
    depth: int
    trigger: dict[str, Any]
    scope: Scope
    instance: InstanceInfo
    http_response: bool = False  # $http is writable only in the webhook-started automation
    trace: str = "steps"  # its trace level (workflows/interpreter/trace.py)
    iteration: int | None = None  # the index of the innermost `repeat` iteration running now


@dataclass(slots=True)
class HttpResponseState:
    """What the webhook-started automation set on ``$http``. ``chunks`` are the SSE chunks not yet
    taken by the API (``base`` = how many were taken before them), so a long stream does not grow
    the workflow's memory."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Any] = field(default_factory=list)
    base: int = 0
    handed_out: int = 0  # chunks handed to the API so far (the run ends only once all were)
    keepalive_ms: int | None = None

    @property
    def total(self) -> int:
        return self.base + len(self.chunks)

    def take(self, after: int, max_bytes: int) -> list[Any]:
        """The chunks after the first ``after`` (those are acknowledged and dropped), up to about
        ``max_bytes`` of JSON (at least one), so an answer always fits a Temporal payload."""
        if after > self.base:
            del self.chunks[:after - self.base]
            self.base = min(after, self.total)
        out: list[Any] = []
        size = 0
        for chunk in self.chunks:
            size += len(json.dumps(chunk, ensure_ascii=False, default=str))
            if out and size > max_bytes:
                break
            out.append(chunk)
        self.handed_out = max(self.handed_out, self.base + len(out))
        return out


@dataclass(slots=True)
class ErrorOrigin:
    """Where an automation error was raised, kept on the exception as it unwinds."""

    automation_slug: str
    instruction: str | None
    depth: int


def location(frame: Frame, path: str | None) -> str:
    """Where a call was made, for messages: the automation, its app instance, the instruction."""
    where = f"automation '{frame.slug}'" + (f" of app instance '{frame.instance.full_slug}'"
                                           if frame.instance.full_slug else "")
    return where + (f" at {path}" if path else "")

