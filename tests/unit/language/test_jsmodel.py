from __future__ import annotations

import math

import pytest

from language import UNDEFINED, is_truthy, to_json_text
from language.jsmodel import (
    embed_text,
    format_number,
    js_add,
    js_compare,
    js_div,
    js_mod,
    js_to_string,
    loose_equals,
    str_to_number,
    strict_equals,
)


@pytest.mark.parametrize("value", ["", 0, 0.0, None, UNDEFINED, False, math.nan])
def test_falsy(value: object) -> None:
    assert is_truthy(value) is False


@pytest.mark.parametrize("value", ["0", " ", 1, -1, 0.5, True, [], {}, "false", math.inf])
def test_truthy(value: object) -> None:
    assert is_truthy(value) is True


def test_undefined_sentinel() -> None:
    import copy
    import pickle

    assert repr(UNDEFINED) == "undefined"
    assert not UNDEFINED
    assert UNDEFINED is not None
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"), (1.0, "1"), (-0.0, "0"), (2.5, "2.5"), (0.1, "0.1"), (1e21, "1e+21"),
        (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (123456789012345680000.0, "123456789012345680000"),
        (0.000001, "0.000001"), (math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
        (2**60, "1152921504606847000"), (1.5e300, "1.5e+300"), (-42.125, "-42.125"),
    ],
)
def test_format_number_like_js(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [("", 0), ("  12 ", 12), ("1.5", 1.5), ("1e3", 1000), ("-0x1", None), ("0x1A", 26), (".5", 0.5),
     ("5.", 5), ("Infinity", math.inf), ("inf", None), ("1_000", None), ("abc", None), ("١٢", None)],
)
def test_str_to_number(text: str, number: float | None) -> None:
    got = str_to_number(text)
    if number is None:
        assert got != got
    else:
        assert got == number


@pytest.mark.parametrize(
    ("a", "b", "loose", "strict"),
    [
        (5, "5", True, False), (0, "", True, False), (None, UNDEFINED, True, False),
        (None, 0, False, False), (True, 1, True, False), (True, "1", True, False),
        ("a", "a", True, True), (1, 1.0, True, True), (math.nan, math.nan, False, False),
        ([1, 2], "1,2", True, False), ({"a": 1}, {"a": 1}, True, True), ([1], [1], True, True),
        ([1], ["1"], False, False), (UNDEFINED, UNDEFINED, True, True), (False, "", True, False),
    ],
)
def test_equality_tables(a: object, b: object, loose: bool, strict: bool) -> None:
    assert loose_equals(a, b) is loose
    assert loose_equals(b, a) is loose
    assert strict_equals(a, b) is strict


def test_relational_coercion() -> None:
    assert js_compare("10", "9", "<") is True  # strings compare lexically
    assert js_compare(10, "9", "<") is False  # number vs string -> numbers
    assert js_compare(None, 0, ">=") is True
    assert js_compare(UNDEFINED, 0, "<") is False
    assert js_compare("a", 1, "<") is False
    assert js_compare("\U0001f600", "\uffff", ">") is False  # UTF-16 code unit order


def test_arithmetic_like_js() -> None:
    assert js_add(1, 2) == 3 and type(js_add(1, 2)) is int
    assert js_add(0.5, 0.5) == 1 and type(js_add(0.5, 0.5)) is int
    assert js_add("1", 1) == "11"
    assert js_add([1], 1) == "11"
    assert js_add(None, 1) == 1
    assert js_div(1, 0) == math.inf and js_div(-1, 0) == -math.inf
    assert math.isnan(js_div(0, 0))
    assert js_div(10, 4) == 2.5 and js_div(10, 2) == 5
    assert js_mod(-7, 3) == -1 and js_mod(7, -3) == 1 and js_mod(5.5, 2) == 1.5
    assert math.isnan(js_mod(1, 0))


def test_js_to_string() -> None:
    assert js_to_string(None) == "null"
    assert js_to_string(UNDEFINED) == "undefined"
    assert js_to_string([1, None, [2, 3]]) == "1,,2,3"
    assert js_to_string({"a": 1}) == "[object Object]"
    assert js_to_string(True) == "true"


def test_to_json_text() -> None:
    assert to_json_text({"a": 1.0, "b": UNDEFINED, "c": [UNDEFINED, math.nan], "d": "é\n"}) == (
        '{"a":1,"c":[null,null],"d":"é\\n"}'
    )
    assert to_json_text(UNDEFINED) == "null"
    assert to_json_text([]) == "[]"


def test_embed_text() -> None:
    assert embed_text("x") == "x"
    assert embed_text(None) == "" and embed_text(UNDEFINED) == ""
    assert embed_text(True) == "true" and embed_text(2.0) == "2" and embed_text(math.nan) == "null"
    assert embed_text({"a": [1, {}], "b": {}}) == '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": {}\n}'
