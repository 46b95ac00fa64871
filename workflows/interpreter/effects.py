"""What the interpreter needs from the outside world.

The interpreter is pure; ``AutomationWorkflow`` implements this with Temporal
(workflow.now/uuid4/random, local and regular activities). Keeping the seam
explicit is what lets later work (apps, schedules) add effects without
touching instruction code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from language import LanguageEnv
from schemas.events import Event
from schemas.runs import (
    CallTarget,
    ContextKeys,
    ContextWrite,
    CustomCodeOutcome,
    CustomCodeRequest,
    FlushResult,
    RateLimitRequest,
    RateLimitResult,
    RunRecord,
    UserTopicRequest,
    WaitRequest,
)


class Effects(Protocol):
    env: LanguageEnv
    workflow_id: str

    def now(self) -> datetime: ...

    def new_id(self) -> str: ...

    async def flush(self, events: list[Event], writes: list[ContextWrite], charges: dict[str, int],
                    not_watermark: list[str], user_id: str | None = None, quiet: list[str] | None = None,
                    run: RunRecord | None = None) -> FlushResult:
        """Apply context writes, take rate-limit tokens, persist events (idempotent) and the run's
        record, and start their listeners (but those of the ``quiet`` ones). Also yields the
        workflow activation."""

    async def sleep(self, seconds: float) -> None:
        """Wait in workflow time (rate-limit throttling)."""

    async def load_contexts(self, keys: ContextKeys) -> dict[str, dict[str, Any]]:
        """The persisted global/user/session/run contexts."""

    async def wait_for_event(self, request: WaitRequest) -> dict[str, Any] | None:
        """Register a wait and block until it is fulfilled (the event) or times out (None)."""

    async def rate_limit(self, request: RateLimitRequest) -> RateLimitResult:
        """Take points of a rate limit shared by every run (idempotent on ``take_id``)."""

    async def user_topic(self, request: UserTopicRequest) -> None:
        """Create a user topic or add members to one."""

    async def run_custom_code(self, request: CustomCodeRequest) -> CustomCodeOutcome:
        """Run a Custom Code function in the sandbox (errors come back in the outcome)."""

    async def fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Perform an HTTP request; returns ``{status, headers, body}``."""

    async def may_execute(self, automation: dict[str, Any], user_id: str | None) -> bool:
        """Whether ``user_id`` may execute an automation that has ``authorizations.action``."""

    async def resolve_call(self, caller: str, name: str) -> CallTarget | None:
        """The automation ``name`` as called from instance ``caller``, in the run's pinned
        workspace revision and app versions; None when the instance path does not exist."""
