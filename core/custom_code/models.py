"""What a Custom Code call takes and gives back: its limits, its result, its error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.errors import CustomCodeError

__all__ = ["REASONS", "CodeLimits", "CodeResult", "CustomCodeError"]

# Why a call failed: ``CustomCodeError.details["reason"]``.
REASONS = (
    "syntax",      # the code does not parse (details.line)
    "thrown",      # the function threw or its promise rejected (details.message, details.line)
    "timeout",     # it ran past CodeLimits.timeout_seconds
    "memory",      # it allocated past CodeLimits.memory_bytes
    "output",      # its result's JSON is larger than CodeLimits.max_output_bytes
    "not-json",    # its result has no JSON form (a function, a BigInt, a cycle)
    "unsettled",   # its promise never settled (it waited for something that cannot happen here)
    "parameters",  # a parameter name that cannot be a JavaScript variable, or parameters with no JSON form
    "require",     # reserved for the caller (an unknown module is a "thrown" Error naming what exists)
    "crashed",     # the engine process died (a bug of the engine, reported, never retried here)
    "busy",        # no engine process became free in time
    "internal",    # anything else: a bug of Tideway's
)


@dataclass(frozen=True)
class CodeLimits:
    timeout_seconds: float = 5.0
    memory_bytes: int = 64 * 1024 * 1024
    max_output_bytes: int = 1_000_000  # JSON of the result
    max_console_bytes: int = 10_000  # captured console output


@dataclass(frozen=True)
class CodeResult:
    value: Any  # plain JSON (undefined -> None)
    console: list[str] = field(default_factory=list)  # console.* lines, capped
