"""``date()``: dayjs-compatible parsing, fields (UTC) and formatting (time zone + locale)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from .limits import cache_put
from .locales import get_locale
from .undefined import UNDEFINED

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MS = 8_640_000_000_000_000
# dayjs REGEX_PARSE, used for strings without a trailing Z (read as UTC here)
_DAYJS_PARSE = re.compile(
    r"^(\d{4})[-/]?(\d{1,2})?[-/]?(\d{0,2})[Tt\s]*(\d{1,2})?:?(\d{1,2})?:?(\d{1,2})?[.:]?(\d+)?\Z",
    re.ASCII,
)
_ISO = re.compile(
    r"^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\Z",
    re.ASCII,
)
_FORMAT = re.compile(r"\[([^\]]+)]|Y{1,4}|M{1,4}|D{1,2}|d{1,4}|H{1,2}|h{1,2}|a|A|m{1,2}|s{1,2}|Z{1,2}|SSS")
_LOCALIZED = re.compile(r"(\[[^\]]+])|(LTS?|l{1,4}|L{1,4})")
_SHORTEN = re.compile(r"(\[[^\]]+])|(MMMM|MM|DD|dddd)")
_TZ_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")
_ZONES: dict[str, Any] = {}
FIELDS = ("day", "month", "year", "hour", "minute", "second", "date", "iso", "ts")


def now_ms(env: Any) -> int | None:
    try:
        dt = env.now()
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        delta = dt - EPOCH
        return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    except Exception:
        return None


def _from_parts(y: int, month0: int, day: int, h: int, mi: int, s: int, ms: int) -> int | None:
    """``Date.UTC`` with JavaScript roll-over of out-of-range fields."""
    yy, mm = divmod(y * 12 + month0, 12)
    if not 1 <= yy <= 9999:
        return None
    try:
        base = datetime(yy, mm + 1, 1, tzinfo=UTC)
        dt = base + timedelta(days=day - 1, hours=h, minutes=mi, seconds=s, milliseconds=ms)
    except (OverflowError, ValueError):
        return None
    delta = dt - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def parse_date(value: Any) -> int | None:
    """Milliseconds since the epoch (UTC) like ``dayjs(value)``, or ``None`` when invalid.

    Numbers are millisecond timestamps; strings are ISO 8601 (with or without offset),
    date-only or dayjs-style ``YYYY-MM-DD HH:mm:ss`` (no offset means UTC), or RFC 2822.
    """
    t = type(value)
    if t is int or t is float:
        if value != value or abs(value) > MAX_MS:
            return None
        return int(value)
    if t is not str or len(value) > 100:
        return None
    s = value.strip()
    if not s:
        return None
    if s[-1] not in "zZ":
        m = _DAYJS_PARSE.match(s)
        if m:
            g = m.groups()
            month0 = int(g[1]) - 1 if g[1] else 0
            day = int(g[2]) if g[2] else 1
            ms = int((g[6] or "0")[:3].ljust(3, "0"))
            return _from_parts(int(g[0]), month0, day, int(g[3] or 0), int(g[4] or 0), int(g[5] or 0), ms)
    m = _ISO.match(s)
    if m:
        g = m.groups()
        month = int(g[1] or 1)
        day = int(g[2] or 1)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        hour, minute, sec = int(g[3] or 0), int(g[4] or 0), int(g[5] or 0)
        if hour > 24 or minute > 59 or sec > 59:
            return None
        frac = (g[6] or "0")[:3].ljust(3, "0")
        ts = _from_parts(int(g[0]), month - 1, day, hour, minute, sec, int(frac))
        if ts is None:
            return None
        zone = g[7]
        if zone and zone not in "Zz":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
            ts -= sign * offset * 60_000
        return ts
    try:
        dt = parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:  # pragma: no cover
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def to_datetime(ms: int, tz: Any = UTC) -> datetime | None:
    try:
        return (EPOCH + timedelta(milliseconds=ms)).astimezone(tz)
    except (OverflowError, ValueError):
        return None


def date_field(ms: int, field: str | None) -> Any:
    """``.day`` (0 = Sunday) ``.month`` (1-12) ``.year .hour .minute .second .date .iso .ts``
    in UTC; no field gives the timestamp; an unknown field gives undefined."""
    if field is None or field == "ts":
        return ms
    if field not in FIELDS:
        return UNDEFINED
    dt = to_datetime(ms)
    if dt is None:
        return UNDEFINED
    if field == "day":
        return (dt.weekday() + 1) % 7
    if field == "month":
        return dt.month
    if field == "year":
        return dt.year
    if field == "hour":
        return dt.hour
    if field == "minute":
        return dt.minute
    if field == "second":
        return dt.second
    if field == "date":
        return dt.day
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"


def get_zone(name: str) -> Any:
    zone = _ZONES.get(name)
    if zone is not None:
        return zone or None
    found: Any = False
    if 0 < len(name) <= 64 and _TZ_NAME.match(name) and ".." not in name:
        try:
            found = ZoneInfo(name)
        except Exception:
            found = False
    cache_put(_ZONES, name, found)
    return found or None


def _expand_localized(fmt: str, formats: dict[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        b = m.group(2)
        if b in formats:
            return formats[b]
        upper = formats.get(b.upper())
        if upper is None:
            return b
        return _SHORTEN.sub(lambda x: x.group(1) or x.group(2)[1:], upper)

    return _LOCALIZED.sub(repl, fmt)


def format_date(ms: int, fmt: str, locale: Any, tz: Any) -> str | None:
    """dayjs ``dayjs(ms).tz(tz).locale(locale).format(fmt)`` with LocalizedFormat tokens."""
    zone = get_zone(tz) if isinstance(tz, str) else None
    if zone is None:
        return None
    dt = to_datetime(ms, zone)
    if dt is None:
        return None
    loc = get_locale(locale)
    offset = dt.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    zone_str = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    hour12 = dt.hour % 12 or 12
    weekday = (dt.weekday() + 1) % 7
    year = str(dt.year)
    values = {
        "YY": year[-2:],
        "YYYY": year.rjust(4, "0"),
        "M": str(dt.month),
        "MM": f"{dt.month:02d}",
        "MMM": loc["months_short"][dt.month - 1],
        "MMMM": loc["months"][dt.month - 1],
        "D": str(dt.day),
        "DD": f"{dt.day:02d}",
        "d": str(weekday),
        "dd": loc["weekdays_min"][weekday],
        "ddd": loc["weekdays_short"][weekday],
        "dddd": loc["weekdays"][weekday],
        "H": str(dt.hour),
        "HH": f"{dt.hour:02d}",
        "h": str(hour12),
        "hh": f"{hour12:02d}",
        "a": "am" if dt.hour < 12 else "pm",
        "A": "AM" if dt.hour < 12 else "PM",
        "m": str(dt.minute),
        "mm": f"{dt.minute:02d}",
        "s": str(dt.second),
        "ss": f"{dt.second:02d}",
        "SSS": f"{dt.microsecond // 1000:03d}",
        "Z": zone_str,
    }
    no_colon = zone_str.replace(":", "")
    expanded = _expand_localized(fmt, loc["formats"])
    return _FORMAT.sub(lambda m: m.group(1) or values.get(m.group(0)) or no_colon, expanded)
