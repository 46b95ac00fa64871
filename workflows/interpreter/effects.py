"""What the interpreter needs from the outside world.

The interpreter is pure; ``AutomationWorkflow`` implements this with Temporal
(workflow.now/uuid4/random, local and regular activities). Keeping the seam
explicit is what lets later work (events, apps, waits) add effects without
touching instruction code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from schemas.events import Event
from workflows.language import LanguageEnv


class Effects(Protocol):
    env: LanguageEnv

    def now(self) -> datetime: ...

    def new_id(self) -> str: ...

    async def flush_events(self, events: list[Event]) -> None:
        """Persist buffered events (idempotent on event id). Also yields the activation."""

    async def fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Perform an HTTP request; returns ``{status, headers, body}``."""

    async def load_automation(self, slug: str) -> dict[str, Any] | None:
        """Definition of another automation of the pinned workspace revision."""
