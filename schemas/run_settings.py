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
    fetch_stream_max_chunks: int = 10_000
    fetch_stream_max_bytes: int = 10 * 1024 * 1024
    default_timezone: str = "Europe/Paris"
    default_locale: str = "en"
    context_quota_bytes: int = 100_000
    wait_default_timeout: float = 20.0
    run_context_ttl: float = 60.0
    session_context_ttl: float = 3600.0
    run_search_attributes: bool = False  # listener and scheduled runs get them too when set
