"""Custom Code: users' JavaScript functions run in a sandbox (issue 18, docs/custom-code.md).

The API the Custom Code app calls:

* ``check_function(name, code)``: does ``code`` (a function body) parse? ``None`` or a message
  with its line, nothing run;
* ``run_function(name, code, parameters, limits)``: run it as the body of an async function of
  the parameters, await its result, answer ``CodeResult`` or raise ``CustomCodeError``;
* ``python_refusal_message()``: why ``language: python`` functions are refused.

Each call runs in a fresh QuickJS context (engine.py) inside an engine process of a pool
(pool.py, child.py): nothing is shared between calls, the operating system enforces the wall
clock, and a crash of the engine never reaches the caller's process. Blocking: call it from a
worker thread (a local activity), never on an event loop; any number of threads at once.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from core.custom_code.models import REASONS, CodeLimits, CodeResult, CustomCodeError
from core.custom_code.pool import EngineFailure, EnginePool

__all__ = [
    "REASONS", "CodeLimits", "CodeResult", "CustomCodeError", "check_function", "configure_pool",
    "engine_hardening", "python_refusal_message", "run_function", "shutdown_pool", "warm_up",
]

_pool: EnginePool | None = None
_pool_lock = threading.Lock()
_pool_size: int | None = None


def _engines() -> EnginePool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = EnginePool(_pool_size)
        return _pool


def configure_pool(max_processes: int) -> None:
    """How many engine processes may run calls at once (default: the number of CPUs). Takes
    effect for the pool created next: call it before the first call, or after ``shutdown_pool``."""
    global _pool_size
    _pool_size = max(1, int(max_processes))


def warm_up(processes: int = 1) -> None:
    """Start engine processes now (a worker's start), not on the first calls (~0.2 s each)."""
    _engines().warm_up(processes)


def engine_hardening() -> dict[str, Any]:
    """What the last started engine process could do to itself (child.harden): for health pages."""
    return dict(_engines().hardening)


def shutdown_pool() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()


atexit.register(shutdown_pool)
os.register_at_fork(after_in_child=lambda: globals().update(_pool=None))  # a fork's children are not ours


def _check_limits(limits: CodeLimits) -> None:
    if not (limits.timeout_seconds > 0 and math.isfinite(limits.timeout_seconds)) or limits.memory_bytes < 1 << 20 \
            or limits.max_output_bytes < 0 or limits.max_console_bytes < 0:
        raise ValueError(f"invalid Custom Code limits: {limits}")


def _error(name: str, reason: str, message: str, line: int | None = None,
           console: list[str] | None = None) -> CustomCodeError:
    details: dict[str, Any] = {"function": name, "reason": reason, "message": message}
    if line is not None:
        details["line"] = line
    where = f" (line {line})" if line is not None else ""
    return CustomCodeError(f"Custom Code function '{name}' failed: {message}{where}", details, console=console)


def _call(name: str, request: dict[str, Any], limits: CodeLimits) -> tuple[dict[str, Any], str | None]:
    _check_limits(limits)
    request["limits"] = asdict(limits)
    try:
        return _engines().call(request, limits.timeout_seconds)
    except EngineFailure as failure:
        raise _error(name, failure.reason, failure.message) from None


def check_function(name: str, code: str, parameter_names: Iterable[str] = ()) -> str | None:
    """None when ``code`` (the BODY of a function) parses; else a message with the line number
    (1-based, in ``code``). Runs nothing of it. ``parameter_names`` (optional) are checked too:
    a body may not redeclare a parameter with ``let``/``const``."""
    header, _ = _call(name, {"op": "check", "code": code, "names": list(parameter_names)},
                      CodeLimits(timeout_seconds=10.0))
    if header.get("ok"):
        return None
    line = header.get("line")
    return f"line {line}: {header.get('message')}" if line else str(header.get("message"))


def run_function(name: str, code: str, parameters: dict[str, Any], limits: CodeLimits,
                 declared: Iterable[str] = ()) -> CodeResult:
    """Run ``code`` as the body of an async function whose parameters are ``declared`` (the
    function's declared parameter names, optional) then the other keys of ``parameters``
    (declared parameters missing from the call are undefined), await a returned promise, and
    return its JSON value. Raises CustomCodeError on syntax error, thrown error (message + line),
    timeout, memory, a result that is not JSON-serializable or too big."""
    names = list(dict.fromkeys([*declared, *parameters]))
    try:
        parameters_json = json.dumps(parameters, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _error(name, "parameters", f"the parameters have no JSON form ({exc})") from None
    header, value_json = _call(name, {"op": "run", "code": code, "names": names,
                                      "parameters_json": parameters_json}, limits)
    console = [str(line) for line in header.get("console") or []]
    if not header.get("ok"):
        reason = str(header.get("reason") or "internal")
        return_line = header.get("line") if isinstance(header.get("line"), int) else None
        raise _error(name, reason if reason in REASONS else "internal", str(header.get("message")),
                     return_line, console)
    return CodeResult(value=json.loads(value_json) if value_json is not None else None, console=console)


def python_refusal_message() -> str:
    return ("Python functions are not supported: Tideway runs Custom Code functions only in its "
            "JavaScript sandbox. A Python function would need its own operating-system sandbox "
            "(a separate process without network, with CPU, memory and time limits), which "
            "Tideway does not provide; rewrite the function in JavaScript (docs/custom-code.md)")
