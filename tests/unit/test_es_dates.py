"""Dates of the event search (core/events/es_dates.py): date math, range rounding, intervals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events.es_dates import (
    DateError,
    epoch_millis,
    interval_seconds,
    iso_millis,
    range_bound,
    resolve,
)

NOW = datetime(2024, 3, 15, 13, 45, 30, 250000, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(("value", "expected"), [
    ("now", NOW),
    ("now-1d", datetime(2024, 3, 14, 13, 45, 30, 250000, tzinfo=UTC)),
    ("now-1h/d", datetime(2024, 3, 15, tzinfo=UTC)),
    ("now/d", datetime(2024, 3, 15, tzinfo=UTC)),
    ("now+2h-30m", datetime(2024, 3, 15, 15, 15, 30, 250000, tzinfo=UTC)),
    ("now/w", datetime(2024, 3, 11, tzinfo=UTC)),  # weeks start on Monday
    ("now-1M/M", datetime(2024, 2, 1, tzinfo=UTC)),
    ("now/y", datetime(2024, 1, 1, tzinfo=UTC)),
    ("2024-01-31||+1M", datetime(2024, 2, 29, tzinfo=UTC)),  # month ends clamp
    ("2024-01-01", datetime(2024, 1, 1, tzinfo=UTC)),
    ("2024-01", datetime(2024, 1, 1, tzinfo=UTC)),
    ("2024-01-01T10:00:00+02:00", datetime(2024, 1, 1, 8, tzinfo=UTC)),
    ("2024-01-01T10:00:00Z", datetime(2024, 1, 1, 10, tzinfo=UTC)),
    (1704067200000, datetime(2024, 1, 1, tzinfo=UTC)),
    ("1704067200000", datetime(2024, 1, 1, tzinfo=UTC)),
])
def test_dates_and_date_math(value: object, expected: datetime) -> None:
    assert resolve(value, NOW) == expected


def test_rounding_up_gives_the_next_unit() -> None:
    assert resolve("now/d", NOW, round_up=True) == datetime(2024, 3, 16, tzinfo=UTC)


def test_range_bounds_round_the_elasticsearch_way() -> None:
    day, next_day = datetime(2024, 3, 15, tzinfo=UTC), datetime(2024, 3, 16, tzinfo=UTC)
    assert (range_bound("gte", "now/d", NOW).op, range_bound("gte", "now/d", NOW).moment) == (">=", day)
    assert (range_bound("lt", "now/d", NOW).op, range_bound("lt", "now/d", NOW).moment) == ("<", day)
    # gt and lte round up: after / up to the end of the day
    assert (range_bound("gt", "now/d", NOW).op, range_bound("gt", "now/d", NOW).moment) == (">=", next_day)
    assert (range_bound("lte", "now/d", NOW).op, range_bound("lte", "now/d", NOW).moment) == ("<", next_day)
    assert range_bound("lte", "2024-01-01", NOW).op == "<="  # no rounding asked: as given


@pytest.mark.parametrize("value", ["yesterday", "now-1x", "now-d", "now/", "2024-13-01", True, None, [1], "now-1d junk"])
def test_bad_dates_are_refused(value: object) -> None:
    with pytest.raises(DateError):
        resolve(value, NOW)


def test_intervals() -> None:
    assert interval_seconds("30m") == 1800
    assert interval_seconds("1h") == interval_seconds("hour") == 3600
    assert interval_seconds("1d") == interval_seconds("day") == 86400
    assert interval_seconds("90s") == 90
    for bad in ("1M", "month", "week", "1y", "0h", "1.5h", "1ms", 5, "h"):
        with pytest.raises(DateError):
            interval_seconds(bad)


def test_formats() -> None:
    moment = datetime(2024, 1, 1, 0, 0, 1, 999999, tzinfo=UTC)
    assert iso_millis(moment) == "2024-01-01T00:00:01.999Z"
    assert epoch_millis(moment) == 1704067201999
