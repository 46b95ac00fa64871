"""Rendering the runs API's JSON for a terminal (``tideway runs``, cli/commands/runs.py): the runs table, a
run's header, and its trace as an indented tree with durations. Pure functions, tested without a
server."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

VALUE_WIDTH = 80  # a step's value and error message are cut to this many characters


@dataclass(frozen=True)
class Symbols:
    """The marks of a step's outcome (``running``: a live trace's step that has not ended), and
    the ellipsis of a cut value."""

    error: str
    ok: str
    brk: str
    cancelled: str
    running: str
    ellipsis: str


UNICODE = Symbols(error="✗", ok="✓", brk="↩", cancelled="⊘", running="▸", ellipsis="…")
ASCII = Symbols(error="x", ok="+", brk="<", cancelled="-", running=">", ellipsis="...")


def symbols_for(encoding: str | None) -> Symbols:
    """The marks a stream of ``encoding`` can print: Unicode ones, else the ASCII fallback."""
    try:
        "".join(vars(UNICODE).values()).encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII
    return UNICODE


def printable(line: str, symbols: Symbols) -> str:
    """With the ASCII marks, the rest of the line in ASCII too (``\\xe9`` for ``é``)."""
    return line.encode("ascii", "backslashreplace").decode("ascii") if symbols is ASCII else line


def cut(text: str, width: int, symbols: Symbols) -> str:
    """``text`` on one line, at most ``width`` characters (the ellipsis included)."""
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    if len(text) <= width:
        return text
    return text[: width - len(symbols.ellipsis)] + symbols.ellipsis


def one_line_json(value: Any, symbols: Symbols, width: int = VALUE_WIDTH) -> str:
    """A value as compact one-line JSON cut to ``width``; a value the trace already truncated
    (``{"$truncated": true, "bytes": N, "preview": ...}``) shows its preview and full size."""
    if isinstance(value, Mapping) and value.get("$truncated") is True:
        preview = cut(str(value.get("preview", "")), width, symbols)
        return f"{preview} ({value.get('bytes', '?')} bytes)"
    text = json.dumps(value, ensure_ascii=symbols is ASCII, separators=(",", ":"), default=str)
    return cut(text, width, symbols)


def format_duration(ms: Any) -> str:
    """A run's duration for people: ``850 ms``, ``4.2 s``, ``3m 07s``, ``2h 05m``; ``-`` when unknown."""
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_time(iso: Any) -> str:
    """An API timestamp (ISO, UTC) as ``2024-05-01 12:03:04``; what it cannot parse as is."""
    if not isinstance(iso, str) or not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def format_trigger(trigger: Any) -> str:
    if not isinstance(trigger, Mapping):
        return "-"
    value = trigger.get("value")
    return f"{trigger.get('type', '?')}:{value}" if value not in (None, "") else str(trigger.get("type", "?"))


def error_name(run: Mapping[str, Any]) -> str:
    error = run.get("error")
    return str(error.get("error", "")) if isinstance(error, Mapping) else ""


def is_ancestor(parent: Mapping[str, Any], step: Mapping[str, Any]) -> bool:
    """Whether ``parent`` (listed earlier) contains ``step``: a block of the same automation
    (``do[2]`` holds ``do[2].repeat.do[0]``), or a step of a shallower depth (the call whose
    automation's steps follow it)."""
    parent_depth, depth = int(parent.get("depth", 1)), int(step.get("depth", 1))
    if parent_depth != depth:
        return parent_depth < depth
    return str(step.get("path", "")).startswith(str(parent.get("path", "")) + ".")


def render_step(step: Mapping[str, Any], indent: int, symbols: Symbols) -> str:
    outcome, duration = step.get("outcome"), step.get("duration")
    ended = isinstance(duration, int | float)
    mark = {"error": symbols.error, "break": symbols.brk, "cancelled": symbols.cancelled}.get(
        str(outcome), symbols.ok if ended else symbols.running)
    parts = [f"{'  ' * indent}{mark} {step.get('instruction', '?')}", str(step.get("path", "")),
             f"{duration} ms" if ended else "running"]
    if step.get("iteration") is not None:
        parts.append(f"[#{step['iteration']}]")
    error = step.get("error")
    if outcome == "error" and isinstance(error, Mapping):
        parts.append(cut(f"{error.get('error', 'Error')}: {error.get('message', '')}", VALUE_WIDTH, symbols))
    if "value" in step:
        parts.append("= " + one_line_json(step["value"], symbols))
    return printable("  ".join(parts), symbols)


def render_trace(steps: Sequence[Mapping[str, Any]], symbols: Symbols = UNICODE) -> list[str]:
    """The trace's steps (pre-order) as one line each, indented as a tree.

    A step's parents are the earlier steps still open: same-depth steps whose path it extends
    (``do[2].conditions[...][0]`` under ``do[2]``) and the call steps of the shallower depths.
    When a caller's step is missing (an automation traced at level ``off`` calling one that is
    traced), its depth still indents: one level per depth no open step accounts for."""
    lines: list[str] = []
    open_steps: list[Mapping[str, Any]] = []
    for step in steps:
        while open_steps and not is_ancestor(open_steps[-1], step):
            open_steps.pop()
        depth = int(step.get("depth", 1))
        depths_seen = {int(parent.get("depth", 1)) for parent in open_steps} - {depth}
        missing = max(0, depth - 1 - len(depths_seen))
        lines.append(render_step(step, len(open_steps) + missing, symbols))
        open_steps.append(step)
    return lines


def render_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
            for row in (headers, *rows)]


def render_runs(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """``runs list``: one row per run, newest first (as the API answers)."""
    if not runs:
        return ["no runs"]
    headers = ("ID", "STATUS", "AUTOMATION", "TRIGGER", "STARTED", "DURATION", "ERROR")
    rows = [(str(run.get("id", "")), str(run.get("status", "")), automation_label(run),
             format_trigger(run.get("trigger")), format_time(run.get("startedAt")),
             format_duration(run.get("duration")), error_name(run)) for run in runs]
    return render_table(rows, headers)


def automation_label(run: Mapping[str, Any]) -> str:
    instance = run.get("appInstance")
    return f"{instance}.{run.get('automation', '')}" if instance else str(run.get("automation", ""))


def render_run(run: Mapping[str, Any], symbols: Symbols = UNICODE) -> list[str]:
    """``runs show``: the header lines, then the trace as a tree."""
    header: list[tuple[str, str]] = [
        ("run", str(run.get("id", ""))),
        ("automation", automation_label(run) + (f" (revision {run['revision']})" if run.get("revision") else "")),
        ("status", str(run.get("status", ""))),
        ("trigger", format_trigger(run.get("trigger"))),
        ("user", str(run.get("userId") or "-")),
        ("started", format_time(run.get("startedAt"))),
        ("duration", format_duration(run.get("duration"))),
    ]
    if run.get("correlationId"):
        header.append(("correlation", str(run["correlationId"])))
    if run.get("rerunOf"):
        header.append(("rerun of", str(run["rerunOf"])))
    if run.get("temporalUrl"):
        header.append(("temporal", str(run["temporalUrl"])))
    error = run.get("error")
    if isinstance(error, Mapping):
        at = error.get("at")
        where = f" (at {at.get('automation', '?')} {at.get('instruction', '')})".rstrip() if isinstance(at, Mapping) else ""
        header.append(("error", f"{error.get('error', 'Error')}: {error.get('message', '')}{where}"))
    if "output" in run:
        header.append(("output", one_line_json(run["output"], symbols)))
    width = max(len(label) for label, _ in header)
    lines = [printable(f"{label.ljust(width)}  {value}", symbols) for label, value in header]
    lines.append("")
    lines.extend(render_trace_section(run.get("trace"), symbols))
    return lines


def render_trace_section(trace: Any, symbols: Symbols) -> list[str]:
    if not isinstance(trace, Mapping):
        return ["trace: not available (it needs read access to the workspace)"]
    steps = trace.get("steps") or []
    if trace.get("level") == "off" and not steps:  # an automation it calls may trace at its own level
        return ["trace: off"]
    dropped = trace.get("dropped") or 0
    title = f"trace ({trace.get('level', '?')}, {len(steps)} step{'s' if len(steps) != 1 else ''}"
    title += f", {dropped} more dropped):" if dropped else "):"
    return [title, *(render_trace(steps, symbols) if steps else ["(no steps)"])]
