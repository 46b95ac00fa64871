"""The step trace's bounds (workflows/interpreter/trace.py): values cut to their cap and to the
run's budget, steps past the cap counted as dropped, secrets redacted in every snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.instructions import parse_instruction
from workflows.interpreter.trace import Tracer, cut

START = datetime(2026, 1, 1, tzinfo=UTC)


def tracer(**options: int) -> tuple[Tracer, list[datetime]]:
    clock = [START]
    return Tracer("values", options.get("value_bytes", 100), options.get("max_steps", 10), START,
                  lambda: clock[0], values_budget=options.get("budget", 10_000)), clock


SET = parse_instruction({"set": {"name": "x", "value": 1}})


def test_a_value_over_its_cap_becomes_a_sized_preview() -> None:
    assert cut({"a": 1}, 100) == ({"a": 1}, 7)
    marker, used = cut("x" * 500, 100)
    assert marker == {"$truncated": True, "bytes": 502, "preview": '"' + "x" * 49} and used == 100


def test_steps_time_outcome_and_the_cap() -> None:
    trace, clock = tracer(max_steps=2)
    first = trace.begin("values", SET, "do[0]", "a", "", 1, None)
    assert first is not None
    clock[0] = START + timedelta(milliseconds=250)
    trace.end(first, value=42, values=True)
    second = trace.begin("steps", SET, "do[1]", "a", "", 1, 3)
    assert second is not None and second["iteration"] == 3
    assert trace.begin("steps", SET, "do[2]", "a", "", 1, None) is None and trace.current is None
    assert trace.begin("off", SET, "do[3]", "a", "", 1, None) is None
    snapshot = trace.snapshot(set())
    assert snapshot["dropped"] == 1 and len(snapshot["steps"]) == 2
    assert snapshot["steps"][0] == {"path": "do[0]", "instruction": "set", "automation": "a", "instance": "",
                                    "depth": 1, "start": 0, "duration": 250, "outcome": "ok", "value": 42}
    assert snapshot["steps"][1]["duration"] == 0  # still running: its duration so far


def test_the_values_budget_of_a_run() -> None:
    trace, _ = tracer(value_bytes=100, budget=150)
    steps = [trace.begin("values", SET, f"do[{i}]", "a", "", 1, None) for i in range(3)]
    for step in steps:
        assert step is not None
        trace.end(step, value="y" * 80, values=True)
    values = [s["value"] for s in trace.snapshot(set())["steps"]]
    assert values[0] == "y" * 80  # 82 bytes
    assert values[1]["$truncated"] and values[1]["bytes"] == 82  # 68 left in the budget
    assert values[2] == {"$truncated": True, "bytes": 82, "preview": ""}  # the budget is spent


def test_secrets_are_redacted_in_snapshots_not_in_the_live_steps() -> None:
    trace, _ = tracer()
    step = trace.begin("values", SET, "do[0]", "a", "", 1, None)
    assert step is not None
    trace.end(step, "error", {"error": "FetchError", "message": "GET https://x/?key=sk-live-123456 failed"})
    shown = trace.snapshot({"sk-live-123456"})["steps"][0]
    assert shown["error"]["message"] == "REDACTED"
    assert "sk-live-123456" in step["error"]["message"]
