"""What ``tideway test`` prints: one line per case (✓/✗, its duration) and, under a failed case,
what differed; the same as JSON (``--json``); format problems of the test files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from cli.workspace_tests.loading import FormatProblem

STATUSES = ("passed", "failed", "skipped", "refused")
GREEN, RED, YELLOW, DIM, RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"


@dataclass
class CaseResult:
    file: str
    name: str
    trigger: str
    status: str  # passed | failed | skipped | refused
    duration: float = 0.0  # seconds
    failures: list[str] = field(default_factory=list)  # what differed, or why it was skipped/refused

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "name": self.name, "trigger": self.trigger, "status": self.status,
                "durationMs": round(self.duration * 1000, 3), "failures": self.failures}


def counts(results: list[CaseResult]) -> dict[str, int]:
    return {status: sum(1 for r in results if r.status == status) for status in STATUSES}


def exit_code(results: list[CaseResult]) -> int:
    """0: every case run passed; 1: a case failed; 2: a case was refused (server mode) and none failed."""
    found = counts(results)
    if found["failed"]:
        return 1
    return 2 if found["refused"] else 0


def marks(stream: TextIO) -> dict[str, str]:
    """✓ ✗ where the output can show them, ASCII elsewhere."""
    try:
        "✓✗○".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return {"passed": "ok", "failed": "FAIL", "skipped": "skip", "refused": "REFUSED"}
    return {"passed": "✓", "failed": "✗", "skipped": "○", "refused": "!"}


def write_text(results: list[CaseResult], elapsed: float, stream: TextIO, *, color: bool, mode: str) -> None:
    symbols = marks(stream)
    tint = {"passed": GREEN, "failed": RED, "skipped": YELLOW, "refused": RED}

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    current = None
    for result in results:
        if result.file != current:
            current = result.file
            stream.write(f"{result.file}\n")
        duration = f"{result.duration * 1000:.0f} ms" if result.status in ("passed", "failed") else result.status
        stream.write(f"  {paint(symbols[result.status], tint[result.status])} {result.name} "
                     f"{paint('(' + duration + ')', DIM)}\n")
        for line in result.failures:
            stream.write(f"      {paint(line, tint[result.status]) if result.status != 'skipped' else line}\n")
    found = counts(results)
    parts = [f"{found[s]} {s}" for s in STATUSES if found[s] or s == "passed"]
    summary = f"{len(results)} case{'s' if len(results) != 1 else ''} ({mode}): {', '.join(parts)} in {elapsed:.2f} s"
    code = RED if found["failed"] or found["refused"] else GREEN
    stream.write(paint(summary, code) + "\n")


def write_json(results: list[CaseResult], elapsed: float, stream: TextIO, *, mode: str) -> None:
    document = {"ok": exit_code(results) == 0, "mode": mode, "durationMs": round(elapsed * 1000, 3),
                "counts": counts(results), "cases": [r.to_json() for r in results]}
    stream.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def write_problems(problems: list[FormatProblem], stream: TextIO, *, json_output: bool, color: bool) -> None:
    if json_output:
        stream.write(json.dumps({"ok": False, "problems": [p.to_json() for p in problems]}, ensure_ascii=False,
                                indent=2) + "\n")
        return
    for problem in problems:
        stream.write(f"{RED + 'error' + RESET if color else 'error'}: {problem}\n")
    stream.write(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the test files: no case was run\n")
