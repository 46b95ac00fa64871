"""Per-file conformance counts, printed by pytest_terminal_summary at column 0."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

COUNTS: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
PROPERTY = "conformance_file"


def record_report(report: Any) -> None:
    files = [v for k, v in getattr(report, "user_properties", []) if k == PROPERTY]
    if not files:
        return
    counts = COUNTS[files[0]]
    if report.when == "call":
        counts["passed" if report.passed else "skipped" if report.skipped else "failed"] += 1
    elif report.when == "setup" and not report.passed:
        counts["skipped" if report.skipped else "failed"] += 1


def write_summary(terminalreporter: Any) -> None:
    for name in sorted(COUNTS):
        c = COUNTS[name]
        terminalreporter.write_line(
            f"conformance {name}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
