"""What a case did, offline or on a live Tideway, in one shape the expectations are checked on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from language import UNDEFINED

MISSING: Any = UNDEFINED  # no output (the run failed, or the case has no single run)


@dataclass
class RunTrace:
    """One run of a case: the triggered automation's, or a listener's."""

    automation: str
    instance: str = ""
    trigger: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    output: Any = MISSING
    error: dict[str, Any] | None = None
    http_status: int | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Any] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # the run's step trace (trace.py)

    @property
    def qualified(self) -> str:
        """``slug``, or ``instance.slug`` for an app instance's automation."""
        return f"{self.instance}.{self.automation}" if self.instance else self.automation


@dataclass
class CaseOutcome:
    output: Any = MISSING
    error: dict[str, Any] | None = None  # {error, message, details?, at?}
    http_status: int | None = None
    http_headers: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # public events, oldest first
    runs: list[RunTrace] = field(default_factory=list)  # the triggered run first
    requests: list[dict[str, Any]] = field(default_factory=list)  # fetch requests (offline)
    calls: list[dict[str, Any]] = field(default_factory=list)  # mocked automation calls (offline)
    problem: str | None = None  # what the test environment could not provide: fails the case
