"""Settings a run needs, passed in the workflow memo (workflows never read the environment)."""

from __future__ import annotations

from pydantic import BaseModel


class RunSettings(BaseModel):
    max_call_depth: int = 20
    yield_every_steps: int = 500
    max_steps_per_run: int = 100_000
    max_event_size: int = 100_000
    inline_value_bytes: int = 200 * 1024
    fetch_timeout_seconds: float = 30.0
    default_timezone: str = "Europe/Paris"
    default_locale: str = "en"
