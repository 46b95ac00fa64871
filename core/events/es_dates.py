"""Dates of the event search (docs/search.md): Elasticsearch date math and intervals.

* A date is an ISO 8601 date or date-time (``2024-05-01``, ``2024-05-01T10:00:00Z``; without a
  zone it is UTC), epoch milliseconds (a number, or a string of digits), or date math:
  ``now`` or ``<date>||`` followed by ``+N<unit>`` / ``-N<unit>`` and ``/<unit>`` (round to the
  start of the unit), units ``y M w d h H m s`` (``w`` weeks start on Monday).
* Rounding follows Elasticsearch's range rules: ``gte``/``lt`` round down; ``gt``/``lte``
  round up (to the end of the unit), which :func:`range_bound` turns into ``>=``/``<`` the start
  of the next unit.
* An interval is a whole number of ``s m h d`` (``30m``, ``1h``, ``1d``), or the legacy names
  ``minute``, ``hour``, ``day``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_MATH = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_DIGITS = re.compile(r"-?\d{1,15}")
FIXED_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
INTERVAL_NAMES = {"minute": 60, "1m": 60, "hour": 3600, "1h": 3600, "day": 86400, "1d": 86400}
CALENDAR_ONLY = {"week", "1w", "month", "1M", "quarter", "1q", "year", "1y"}


class DateError(ValueError):
    """Not a date this search understands (the message says why)."""


@dataclass(frozen=True)
class Bound:
    """One side of a date range, resolved: ``op`` is ``>``, ``>=``, ``<`` or ``<=``."""

    op: str
    moment: datetime


def parse_iso(value: str) -> datetime:
    """An ISO 8601 date or date-time; a naive one is UTC."""
    raw = value.strip()
    if re.fullmatch(r"\d{4}", raw):
        raw += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", raw):
        raw += "-01"
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DateError(f"{value!r} is not a date (ISO 8601, epoch milliseconds or date math like now-1d)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_epoch_millis(millis: int | float) -> datetime:
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    except OverflowError:
        raise DateError(f"{millis} is out of range for epoch milliseconds") from None


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise DateError("date math goes out of range")
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
            30, 31, 30, 31][month]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, days))


def shift(moment: datetime, amount: int, unit: str) -> datetime:
    try:
        if unit == "y":
            return _add_months(moment, 12 * amount)
        if unit == "M":
            return _add_months(moment, amount)
        seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
        return moment + timedelta(seconds=seconds * amount)
    except OverflowError:
        raise DateError("date math goes out of range") from None


def floor_to(moment: datetime, unit: str) -> datetime:
    """The start of ``moment``'s ``unit`` (UTC)."""
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = moment - timedelta(days=moment.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in ("h", "H"):
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def resolve(value: Any, now: datetime, *, round_up: bool = False) -> datetime:
    """A date of the search (see the module docstring). ``round_up``: ``/unit`` gives the start
    of the *next* unit (the caller compares with ``>=``/``<`` instead of ``>``/``<=``)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DateError(f"a date must be a string or epoch milliseconds, got {type(value).__name__}")
    if isinstance(value, int | float):
        return from_epoch_millis(value)
    text = value.strip()
    if _DIGITS.fullmatch(text):
        return from_epoch_millis(int(text))
    if text.startswith("now"):
        anchor, math = now.astimezone(UTC), text[3:]
    elif "||" in text:
        head, math = text.split("||", 1)
        anchor = parse_iso(head)
    else:
        return parse_iso(text)
    position = 0
    moment = anchor
    for match in _MATH.finditer(math):
        if match.start() != position:
            break
        position = match.end()
        sign, amount, unit, rounding = match.groups()
        if rounding:
            moment = floor_to(moment, rounding)
            if round_up:
                moment = shift(moment, 1, rounding)
        else:
            moment = shift(moment, int(amount) * (1 if sign == "+" else -1), unit)
    if position != len(math):
        raise DateError(f"{value!r}: bad date math at {math[position:]!r} (e.g. now-1d, now-1h/d, "
                        "2024-01-01||+1M/d)")
    return moment


def range_bound(op: str, value: Any, now: datetime) -> Bound:
    """A range option (``gt gte lt lte``) on a date, rounded the Elasticsearch way."""
    rounds_up = op in ("gt", "lte") and isinstance(value, str) and "/" in value
    moment = resolve(value, now, round_up=rounds_up)
    if rounds_up:  # after / up to the end of the unit = from / before the start of the next one
        return Bound(">=" if op == "gt" else "<", moment)
    return Bound({"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op], moment)


def interval_seconds(value: Any) -> int:
    """A fixed interval in whole seconds (``90s``, ``30m``, ``1h``, ``1d``, ``minute``, ``hour``, ``day``)."""
    if not isinstance(value, str):
        raise DateError("an interval is a string like 30m, 1h or 1d")
    if value in INTERVAL_NAMES:
        return INTERVAL_NAMES[value]
    if value in CALENDAR_ONLY:
        raise DateError(f"calendar interval {value!r} is not supported (fixed intervals: s, m, h, d)")
    match = re.fullmatch(r"(\d{1,9})([smhd])", value)
    if not match or int(match.group(1)) == 0:
        raise DateError(f"{value!r} is not a fixed interval (a positive whole number of s, m, h or d: 30m, 1h, 1d)")
    return int(match.group(1)) * FIXED_UNITS[match.group(2)]


def iso_millis(moment: datetime) -> str:
    """``2024-01-01T00:00:00.000Z``: dates as Elasticsearch writes them (``key_as_string``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_millis(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
