"""One Custom Code call in QuickJS, in the calling thread (docs/custom-code.md).

Every call gets a fresh ``quickjs.Context`` (its own QuickJS runtime: heap, atoms, globals), made,
used and freed in the calling thread: QuickJS checks its stack against the thread that created
the runtime, so a context must never move between threads (the binding's own docs warn that it
crashes then). Nothing survives a call, so no call sees another's state.

Limits here: the runtime's memory limit, a stack limit, the output and console caps, and the
call's deadline checked between promise jobs. Not here: a time limit inside a running script. The
binding's interrupt-based ``set_time_limit`` refuses every call into Python while it is set (and
would not reach inside a regular-expression match anyway), and the crypto and console host
functions are Python. So ``run`` has no bound on a CPU loop by itself: it must run in a child
process whose watchdog ends it on time (child.py, pool.py), never in a process that matters.

The parse check never runs the code: the body is compiled in a script that ends with a syntax
error of its own (a top-level ``return``), so the script as a whole never runs, and the first
error QuickJS reports is that sentinel exactly when the body parsed and closed all it opened.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import quickjs

from core.custom_code import crypto_host
from core.custom_code.models import CodeLimits

# The compiled function's parameter list ends with this many newlines, so the body's line N is
# line N + LINE_OFFSET of its source: stack lines above LINE_OFFSET are the function's own.
PADDING_LINES = 9_999
LINE_OFFSET = PADDING_LINES + 2
STACK_BYTES = 1 << 20  # JavaScript recursion depth: the child's main thread has 8 MB
CHECK_LIMITS = CodeLimits(timeout_seconds=5.0)
# What follows the body in the parse check: the wrapper's end, then a `return` that is an error
# only at the top level, so it is the first error exactly when the body closed what it opened.
_SENTINEL = "\n})\nreturn;"
_SENTINEL_MESSAGE = "return not in a function"
# QuickJS's line terminators, \r\n counting once.
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
_ERROR_LINE = re.compile(r"<input>:(\d+)")
_LONE_SURROGATE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
RESERVED = frozenset(
    "await break case catch class const continue debugger default delete do else enum export extends "
    "false finally for function if implements import in instanceof interface let new null package "
    "private protected public return static super switch this throw true try typeof var void while "
    "with yield arguments eval".split())


def _source(name: str) -> str:
    return resources.files("core.custom_code").joinpath(name).read_text(encoding="utf-8")


PRELUDE = _source("prelude.js")
MODULES = {name: _source(f"{name}.js") for name in ("bytes", "console", "buffer", "crypto")}


@dataclass
class Outcome:
    """A call's result as the child process sends it: ``value_json`` (``None`` for undefined) when
    ``ok``, else ``reason``, ``message`` and maybe ``line``."""

    ok: bool
    value_json: str | None = None
    console: list[str] = field(default_factory=list)
    reason: str = ""
    message: str = ""
    line: int | None = None

    @classmethod
    def failure(cls, reason: str, message: str, line: int | None = None, console: list[str] | None = None) -> Outcome:
        return cls(ok=False, reason=reason, message=message, line=line, console=console or [])


def parameter_problem(names: list[str]) -> str | None:
    for name in names:
        if not isinstance(name, str) or len(name) > 200 or not name.replace("$", "_").isidentifier() \
                or name in RESERVED:
            return f"parameter '{str(name)[:200]}' cannot be a JavaScript variable name"
    return None


def code_problem(code: str) -> str | None:
    if "\x00" in code:
        return "the code contains a NUL character"
    if _SURROGATE.search(code):
        return "the code is not valid Unicode (a lone surrogate)"
    return None


def _line_count(text: str) -> int:
    return len(_LINE_BREAK.findall(text)) + 1


def _where(line: int | None, code: str) -> int | None:
    """A reported line inside the code; past its end (an unclosed bracket) is its last line."""
    if line is None or line < 1:
        return None
    return min(line, _line_count(code))


def _prefix(names: list[str]) -> str:
    """What QuickJS's AsyncFunction constructor puts before the body, padding included."""
    return "(async function anonymous(" + ",".join(names) + "\n" * PADDING_LINES + "\n) {\n"


def _syntax_error(exc: Exception) -> tuple[str, int | None]:
    text = str(exc)
    first = text.split("\n", 1)[0]
    message = first.removeprefix("SyntaxError: ")
    found = _ERROR_LINE.search(text)
    return message, int(found.group(1)) if found else None


def _refused(code: str, names: list[str]) -> Outcome | None:
    """The failure of a body or parameter list that cannot run at all (checked before any engine)."""
    problem = code_problem(code)
    if problem:
        return Outcome.failure("syntax", problem)
    problem = parameter_problem(names)
    return Outcome.failure("parameters", problem) if problem else None


def check(code: str, names: list[str] | None = None) -> Outcome:
    """Parse ``code`` as the body of an async function of ``names``, running nothing."""
    names = names or []
    refused = _refused(code, names)
    if refused is not None:
        return refused
    context = quickjs.Context()
    context.set_memory_limit(CHECK_LIMITS.memory_bytes)
    context.set_time_limit(CHECK_LIMITS.timeout_seconds)  # allowed: no host function here
    context.set_max_stack_size(STACK_BYTES)
    source = _prefix(names) + code + _SENTINEL
    try:
        context.eval(source)
        return Outcome.failure("internal", "the parse check ran the script")  # cannot be: the sentinel never parses
    except quickjs.JSException as exc:
        message, line = _syntax_error(exc)
    if message == _SENTINEL_MESSAGE and line == _line_count(source):
        return Outcome(ok=True)  # the body and the wrapper's closing parsed: the first error is the sentinel
    if message == "out of memory" or "stack overflow" in message:
        return Outcome.failure("syntax", f"the code is too large or too deeply nested to parse ({message})")
    body_line = line - LINE_OFFSET if line else None
    if body_line is not None and body_line > _line_count(code):
        return Outcome.failure("syntax", "unexpected end of the code: a bracket, brace or parenthesis is not closed",
                               _line_count(code))
    return Outcome.failure("syntax", message, _where(body_line, code))


def _clean_json(text: str) -> str:
    """JSON.stringify escapes lone surrogates (\\udxxx); they become U+FFFD, as UTF-8 would."""
    if "\\ud" in text:
        text = _LONE_SURROGATE_ESCAPE.sub(lambda found: found.group(1) + "\\ufffd", text)
    return text


class Console:
    """console.* lines, capped at ``limit`` bytes of UTF-8; past it, one line says so. The child's
    watchdog reads ``lines`` from its own thread when a call runs out of time."""

    def __init__(self, limit: int):
        self.lines: list[str] = []
        self.left = limit
        self.limit = limit

    def add(self, level: str, text_json: str) -> bool:
        """Keep one line; False once the cap is reached (the script then stops sending)."""
        text = json.loads(text_json)
        if self.left < 0 or not isinstance(text, str):
            return False
        line = _SURROGATE.sub("\ufffd", text if level == "log" else f"[{level}] {text}")
        data = line.encode("utf-8")
        if len(data) > self.left:
            if self.left:
                self.lines.append(data[: self.left].decode("utf-8", "ignore"))
            self.lines.append(f"[console output truncated at {self.limit} bytes]")
            self.left = -1
            return False
        self.lines.append(line)
        self.left -= len(data)
        return True


def run(code: str, names: list[str], parameters_json: str, limits: CodeLimits,
        console: Console | None = None) -> Outcome:
    """Run ``code`` as the body of an async function of ``names`` with the values of
    ``parameters_json`` (a JSON object; missing names are undefined), to its settled result.
    No CPU bound inside a script: see the module's docstring."""
    refused = _refused(code, names)
    if refused is not None:
        return refused
    started = time.monotonic()
    deadline = started + limits.timeout_seconds
    console = console or Console(limits.max_console_bytes)
    seen_out_of_memory = False

    def host(operation: str, *arguments: Any) -> str:
        try:
            if operation == "console":
                return "=1" if console.add(str(arguments[0]), str(arguments[1])) else "=0"
            if operation == "source":
                return "=" + MODULES[str(arguments[0])]
            return crypto_host.call(operation, arguments)
        except Exception:  # never let an exception cross into QuickJS
            return "!" + f"the host failed on '{operation}'"

    context = quickjs.Context()
    context.set_memory_limit(limits.memory_bytes)
    context.set_max_stack_size(STACK_BYTES)
    context.add_callable("__tw_host", host)
    settings = json.dumps({"offset": LINE_OFFSET, "padding": "\n" * PADDING_LINES,
                           "maxOutput": limits.max_output_bytes})
    try:
        control = context.eval(PRELUDE)
        control("run", code, json.dumps(names), parameters_json, settings)
        while True:
            if time.monotonic() >= deadline:  # a promise chain that never ends
                return _timeout(limits, console)
            try:
                if not context.execute_pending_job():
                    break
            except quickjs.JSException as exc:  # a job's own failure: its promise reports it
                if "interrupted" in str(exc):
                    return _timeout(limits, console)
                seen_out_of_memory = seen_out_of_memory or "out of memory" in str(exc)
        state = json.loads(control("outcome"))
    except quickjs.StackOverflow:
        return Outcome.failure("thrown", "InternalError: stack overflow", console=console.lines)
    except SystemError:  # the binding could not pass a value a sabotaged script made to Python
        return Outcome.failure("internal", "the function's values could not cross to the host", console=console.lines)
    except quickjs.JSException as exc:
        text = str(exc)
        if "interrupted" in text:
            return _timeout(limits, console)
        if "out of memory" in text or _near_memory_limit(context, limits):
            return _memory(limits, console)
        return Outcome.failure("internal", text.split("\n", 1)[0][:500], console=console.lines)
    return _settle(state, code, limits, console, seen_out_of_memory or _near_memory_limit(context, limits))


def _near_memory_limit(context: quickjs.Context, limits: CodeLimits) -> bool:
    try:
        return bool(context.memory()["malloc_size"] >= 0.9 * limits.memory_bytes)
    except Exception:
        return False


def _timeout(limits: CodeLimits, console: Console) -> Outcome:
    return Outcome.failure("timeout", f"the function ran longer than {limits.timeout_seconds:g} s", console=console.lines)


def _memory(limits: CodeLimits, console: Console) -> Outcome:
    return Outcome.failure("memory", f"the function used more than {limits.memory_bytes // (1024 * 1024)} MB of memory",
                           console=console.lines)


def _settle(state: Any, code: str, limits: CodeLimits, console: Console, out_of_memory: bool) -> Outcome:
    status = state.get("status") if isinstance(state, dict) else None
    if status == "ok":
        value_json = state.get("json")
        if value_json is not None and not isinstance(value_json, str):
            return Outcome.failure("not-json", "the function's result has no JSON form", console=console.lines)
        if value_json is not None and len(value_json.encode("utf-8", "surrogatepass")) > limits.max_output_bytes:
            return Outcome.failure("output", f"the result's JSON is larger than {limits.max_output_bytes} bytes",
                                   console=console.lines)
        return Outcome(ok=True, value_json=_clean_json(value_json) if value_json is not None else None,
                       console=console.lines)
    if status == "pending":
        if out_of_memory:
            return _memory(limits, console)
        return Outcome.failure("unsettled", "the function's promise never settled: nothing it could wait for exists "
                               "here (no timers, network or files)", console=console.lines)
    if status != "error":
        return Outcome.failure("internal", "the function's outcome could not be read", console=console.lines)
    kind, name, message = str(state.get("kind")), str(state.get("name"))[:200], str(state.get("message"))
    line = state.get("line") if isinstance(state.get("line"), int) else None
    if name == "InternalError" and message == "interrupted":
        return _timeout(limits, console)
    if (name == "InternalError" and message == "out of memory") or kind == "null":
        return _memory(limits, console)
    if kind == "syntax":
        return Outcome.failure("syntax", message[:1000], _where(line, code), console=console.lines)
    if kind in ("not-json", "output"):
        return Outcome.failure(kind, message[:1000], console=console.lines)
    full = message if name in ("", "Error") else f"{name}: {message}"
    if state.get("code") == "MODULE_NOT_FOUND":
        return Outcome.failure("require", full[:2000], _where(line, code), console=console.lines)
    return Outcome.failure("thrown", _SURROGATE.sub("\ufffd", full[:2000]), _where(line, code), console=console.lines)
