"""The limits and defaults of a run: declared once here, read from the environment by the
services' ``Settings.run`` (core/infra/settings.py), and handed to each run in its workflow memo
(workflow code never reads the environment). The memo carries the field names; the aliases are
the environment variables where their names differ."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RunSettings(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    # Interpreter limits
    max_call_depth: int = Field(20, alias="MAXIMUM_SUCCESSIVE_CALLS")
    yield_every_steps: int = 500  # pure steps between two activation yields (counted, never timed)
    max_steps_per_run: int = 100_000
    inline_value_bytes: int = 200 * 1024  # values above this are stored and passed by reference
    max_event_size: int = Field(100_000, alias="BROKER_EMIT_MAXLEN")
    fetch_timeout_seconds: float = 30.0
    fetch_stream_max_chunks: int = 10_000  # chunks (SSE events) of one streamed fetch response
    fetch_stream_max_bytes: int = 10 * 1024 * 1024  # bytes of one streamed fetch response
    wait_default_timeout: float = Field(20.0, alias="WAIT_DEFAULT_TIMEOUT")
    context_quota_bytes: int = 100_000  # per persisted context object (DECISIONS 19)
    run_context_ttl: float = Field(60.0, alias="CONTEXT_RUN_EXPIRE_TIME")
    session_context_ttl: float = Field(3600.0, alias="CONTEXT_UNAUTHENTICATED_SESSION_EXPIRE_TIME")
    # Language defaults
    default_timezone: str = Field("Europe/Paris", alias="DEFAULT_TIMEZONE")
    default_locale: str = Field("en", alias="DEFAULT_LOCALE")
    # Custom search attributes (WorkspaceId, AutomationSlug, CorrelationId) on every run, listener
    # and scheduled runs included. Off by default: they cost the dev server ~3 ms of CPU per run
    # (+16 %, bench/temporal_floor.py) and c50 throughput 12 % (README); runs are found by their
    # workflow id prefix instead (``WorkflowId STARTS_WITH "<workspaceId>/<slug>/"``) and by
    # correlation id from the events.
    run_search_attributes: bool = False
    # Custom Code functions (docs/custom-code.md)
    custom_code_timeout_seconds: float = Field(5.0, alias="CUSTOM_CODE_TIMEOUT_SECONDS")
    custom_code_memory_mb: int = Field(64, alias="CUSTOM_CODE_MEMORY_MB")
    # Where this deployment answers (the `global` context: apiUrl, studioUrl, pagesUrl, pagesHost);
    # filled from TIDEWAY_PUBLIC_URL by the services' Settings.
    api_url: str = ""
    studio_url: str = Field("", alias="STUDIO_URL")
    # The step trace of every run (docs/runs.md): `off`, `steps` (path, timing, outcome) or `values`
    # (also each step's result, each value cut to trace_value_bytes); an automation's `trace:`
    # overrides the level. trace_max_steps bounds one run's trace (a 100,000-step loop keeps the
    # first steps and counts the rest as dropped).
    trace_level: Literal["off", "steps", "values"] = Field("steps", alias="RUN_TRACE_LEVEL")
    trace_value_bytes: int = Field(2048, alias="RUN_TRACE_VALUE_BYTES")
    trace_max_steps: int = Field(2000, alias="RUN_TRACE_MAX_STEPS")

    @classmethod
    def environment_names(cls) -> dict[str, str]:
        """Field name by environment variable name (upper case)."""
        return {(field.alias or name).upper(): name for name, field in cls.model_fields.items()}
