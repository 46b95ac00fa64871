"""The Custom Code activity (issue 18): a function of a Custom Code instance run by the JavaScript
sandbox (core/custom_code), in a worker thread. Errors come back in the outcome, so a function
that throws is answered once and never retried (a retry happens only when the worker itself fails,
and then runs the function again: docs/custom-code.md)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from core.custom_code import CodeLimits, CustomCodeError, python_refusal_message, run_function
from schemas import activity_names as names
from schemas.run_settings import RunSettings
from schemas.runs import CustomCodeOutcome, CustomCodeRequest


class CustomCodeActivities:
    def __init__(self, settings: RunSettings):
        self.limits = CodeLimits(timeout_seconds=settings.custom_code_timeout_seconds,
                                 memory_bytes=settings.custom_code_memory_mb * 1024 * 1024)

    def all(self) -> list[Any]:
        return [self.run_custom_code]

    @activity.defn(name=names.RUN_CUSTOM_CODE)
    def run_custom_code(self, request: CustomCodeRequest) -> CustomCodeOutcome:
        """Synchronous: it runs on the worker's activity thread pool, never on the event loop."""
        if request.language != "javascript":
            return CustomCodeOutcome(error={"error": "CustomCodeError", "message": python_refusal_message(),
                                            "details": {"function": request.function, "reason": "language"}})
        try:
            result = run_function(request.function, request.code, request.parameters, self.limits,
                                  declared=request.declared)
        except CustomCodeError as exc:
            return CustomCodeOutcome(error=exc.to_dict(), console=list(getattr(exc, "console", None) or []))
        return CustomCodeOutcome(value=result.value, console=result.console)
