"""Per-run and per-call state of the interpreter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.runs import InstanceInfo
from workflows.interpreter.scope import Scope


class BreakSignal(Exception):
    """Raised by ``break``; caught by the automation (and its callers for ``scope: all``)."""

    def __init__(self, scope: str = "automation"):
        super().__init__(scope)
        self.scope = scope


@dataclass(slots=True)
class Frame:
    """One automation execution: its locals and where it sits in the call chain."""

    slug: str
    automation: dict[str, Any]
    locals: dict[str, Any]
    depth: int
    trigger: dict[str, Any]
    scope: Scope
    instance: InstanceInfo
    http_response: bool = False  # $http is writable only in the webhook-started automation


@dataclass(slots=True)
class HttpResponseState:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ErrorOrigin:
    """Where an automation error was raised, kept on the exception as it unwinds."""

    automation_slug: str
    instruction: str | None
    depth: int
