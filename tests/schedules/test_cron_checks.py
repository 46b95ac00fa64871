"""Cron checks on save (no server): 5 UTC fields, never more often than the minimum interval."""

from __future__ import annotations

import pytest

from core.runs.schedules import (
    InvalidScheduleError,
    check_cron,
    min_gap_minutes,
    normalise_cron,
    schedule_id,
)


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 * * * *", "@hourly", "@daily", "0 9 * * MON-FRI",
                                  "0,30 9-17 * * 1-5", "0 0,23 * * *", "5,55 0,23 * * 1", "0 12 1 JAN *"])
def test_accepted(cron: str) -> None:
    assert check_cron(cron, "a", 15) == normalise_cron(cron)


@pytest.mark.parametrize(("cron", "reason"), [
    ("* * * * *", "minimum interval"), ("*/5 * * * *", "5 minute"), ("0,10 * * * *", "10 minute"),
    ("5,55 0,23 * * *", "10 minute"),  # across midnight on consecutive days
    ("* * * * * *", "5 fields"), ("H * * * *", "allowed"), ("61 * * * *", ""), ("0 0 L * *", "allowed"),
    ("nope", "5 fields"), ("", "cron string"), (5, "cron string"), ("@every 1h", "5 fields"),
])
def test_refused_naming_automation_and_cron(cron: object, reason: str) -> None:
    with pytest.raises(InvalidScheduleError) as caught:
        check_cron(cron, "nightly", 15)
    assert caught.value.status == 400 and caught.value.name == "InvalidScheduleError"
    assert "nightly" in caught.value.message and reason in caught.value.message
    assert caught.value.details["automation"] == "nightly" and caught.value.details["schedule"] == cron


def test_minimum_interval_is_a_setting() -> None:
    assert check_cron("*/5 * * * *", "a", 5) == "*/5 * * * *"
    assert check_cron("* * * * *", "a", 0) == "* * * * *"  # 0 turns the check off
    with pytest.raises(InvalidScheduleError):
        check_cron("0 * * * *", "a", 120)
    assert min_gap_minutes("0 0 * * *", at_least=2 * 24 * 60) == 24 * 60


def test_schedule_ids_are_deterministic() -> None:
    a = schedule_id("ws1", "", "tick", "*/15 * * * *")
    assert a == schedule_id("ws1", "", "tick", "*/15  *  * * *")  # same cron, same id
    assert a.startswith("sched/ws1/_/tick/") and a != schedule_id("ws1", "", "tick", "0 * * * *")
    assert schedule_id("ws1", "nlu.french", "tick", "@daily").startswith("sched/ws1/nlu.french/tick/")
