"""date(): parsing, UTC fields, dayjs formatting tokens, locales and time zones."""

from __future__ import annotations

from typing import Any

import pytest

from language import UNDEFINED, evaluate

from .helpers import fixed_env

D = "2023-03-31T17:07:23.975Z"  # a Friday; Europe/Paris is UTC+2 that day


def ev(expr: str, **env: Any) -> Any:
    return evaluate(expr, {"d": D, "w": "2023-01-08T09:05:03.004Z"}, env=fixed_env(**env))


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("YYYY", "2023"), ("YY", "23"), ("M", "3"), ("MM", "03"), ("MMM", "Mar"), ("MMMM", "March"),
        ("D", "31"), ("DD", "31"), ("d", "5"), ("dd", "Fr"), ("ddd", "Fri"), ("dddd", "Friday"),
        ("H", "19"), ("HH", "19"), ("h", "7"), ("hh", "07"), ("m", "7"), ("mm", "07"), ("s", "23"),
        ("ss", "23"), ("SSS", "975"), ("A", "PM"), ("a", "pm"), ("Z", "+02:00"), ("ZZ", "+0200"),
        ("[Today is] dddd", "Today is Friday"), ("[YYYY]", "YYYY"),
        ("l", "3/31/2023"), ("L", "03/31/2023"), ("ll", "Mar 31, 2023"), ("LL", "March 31, 2023"),
        ("lll", "Mar 31, 2023 7:07 PM"), ("LLL", "March 31, 2023 7:07 PM"),
        ("llll", "Fri, Mar 31, 2023 7:07 PM"), ("LLLL", "Friday, March 31, 2023 7:07 PM"),
        ("LT", "7:07 PM"), ("LTS", "7:07:23 PM"), ("l LT", "3/31/2023 7:07 PM"),
        ("YYYY-MM-DDTHH:mm:ss.SSSZ", "2023-03-31T19:07:23.975+02:00"),
    ],
)
def test_english_tokens(fmt: str, expected: str) -> None:
    assert ev(f'date({{{{d}}}}, "{fmt}")') == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("l", "31/3/2023"), ("L", "31/03/2023"), ("ll", "31 mars 2023"), ("LL", "31 mars 2023"),
        ("lll", "31 mars 2023 19:07"), ("LLL", "31 mars 2023 19:07"),
        ("llll", "ven. 31 mars 2023 19:07"), ("LLLL", "vendredi 31 mars 2023 19:07"),
        ("LT", "19:07"), ("LTS", "19:07:23"), ("dd ddd dddd", "ve ven. vendredi"),
        ("MMM MMMM", "mars mars"),
    ],
)
def test_french_locale(fmt: str, expected: str) -> None:
    assert ev(f'date({{{{d}}}}, "{fmt}", "fr")') == expected


def test_french_month_abbreviations() -> None:
    assert ev('date({{w}}, "ddd D MMM", "fr")') == "dim. 8 janv."
    assert ev('date({{w}}, "ddd D MMM", "fr-FR")') == "dim. 8 janv."
    assert ev('date({{w}}, "dddd", "xx")') == "Sunday"  # unknown locale -> en


def test_time_zones() -> None:
    assert ev('date({{d}}, "LT", "fr", "America/New_York")') == "13:07"
    assert ev('date({{d}}, "HH:mm Z", "en", "UTC")') == "17:07 +00:00"
    assert ev('date({{d}}, "HH:mm", en, Asia/Kolkata)') == "22:37"
    assert ev('date({{w}}, "HH:mm Z")') == "10:05 +01:00"  # winter time in Paris
    assert ev('date({{d}}, "LT", "en", "Not/AZone")') is UNDEFINED
    assert ev('date({{d}}, "LT", "en", "../../etc/passwd")') is UNDEFINED


def test_env_defaults_for_locale_and_timezone() -> None:
    assert ev('date({{d}}, "LT")', timezone="UTC", locale="fr") == "17:07"


@pytest.mark.parametrize(
    ("field", "expected"),
    [("day", 5), ("month", 3), ("year", 2023), ("hour", 17), ("minute", 7), ("second", 23),
     ("date", 31), ("iso", D), ("ts", 1680282443975)],
)
def test_fields_in_utc(field: str, expected: Any) -> None:
    assert ev(f"date({{{{d}}}}).{field}") == expected


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ('"2023-03-31"', "2023-03-31T00:00:00.000Z"),
        ('"2023-03-31 08:09"', "2023-03-31T08:09:00.000Z"),
        ('"2023-03-31T08:09:10.5"', "2023-03-31T08:09:10.500Z"),
        ('"20230331"', "2023-03-31T00:00:00.000Z"),
        ('"2023-03-31T19:07:23+02:00"', "2023-03-31T17:07:23.000Z"),
        ('"2023-03-31T19:07:23.1-0130"', "2023-03-31T20:37:23.100Z"),
        ('"Fri, 31 Mar 2023 17:07:23 GMT"', "2023-03-31T17:07:23.000Z"),
        ("1680282443975", D),
        ("0", "1970-01-01T00:00:00.000Z"),
        ('"2023-13-01"', "2024-01-01T00:00:00.000Z"),
    ],
)
def test_parsing(value: str, iso: str) -> None:
    assert ev(f"date({value}).iso") == iso


@pytest.mark.parametrize(
    "value", ['"not a date"', "null", "{{missing}}", "true", '""', "{{obj}}", '"2023-13-01T00:00:00Z"']
)
def test_invalid_dates_give_undefined(value: str) -> None:
    assert evaluate(f"date({value}).iso", {"obj": {}}, env=fixed_env()) is UNDEFINED
    assert evaluate(f'date({value}, "LT")', {"obj": {}}, env=fixed_env()) is UNDEFINED


def test_now_comes_from_env() -> None:
    assert ev("date()") == 1680282443975
    assert ev("date().iso") == D
    assert ev("date(date({{d}}).ts + 3600 * 24 * 1000).iso") == "2023-04-01T17:07:23.975Z"
    assert ev("date().date") == 31


def test_unknown_field_gives_undefined() -> None:
    assert ev("date({{d}}).weekday") is UNDEFINED
