"""The strict JSON reader (schemas/strict_json.py) and the YAML reader's matching checks
(schemas/yaml_io.py): what each refuses, where it says the problem is, and what still reads."""

from __future__ import annotations

import pytest

from schemas.strict_json import MAX_DEPTH, JsonDocumentError, loads
from schemas.yaml_io import YamlDocumentError, load_yaml


@pytest.mark.parametrize(("text", "words"), [
    (b'{"a": NaN}', "NaN and Infinity are not JSON numbers at line 1, column 7"),
    (b'{"a": [1, Infinity]}', "NaN and Infinity"),
    (b'{"a": -Infinity}', "NaN and Infinity"),
    (b'{"a": 1e400}', "out of range"),
    (b'{"a": "x\\ud800"}', "lone UTF-16 surrogate"),
    (b'{"a": "\\udc00x"}', "lone UTF-16 surrogate"),
    (b'{"\\ud800": 1}', "lone UTF-16 surrogate"),
    (b'{"a":\n  [1,}', "line 2"),
    (b'{"a": "\xff"}', "UTF-8"),
])
def test_json_refusals_name_the_problem_and_where(text: bytes, words: str) -> None:
    with pytest.raises(JsonDocumentError) as caught:
        loads(text)
    assert words in caught.value.message


def test_json_nesting_limit_is_exact_and_names_the_path() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    for depth in (MAX_DEPTH + 1, 300, 999, 1000, 10_000, 100_000):
        with pytest.raises(JsonDocumentError) as caught:
            loads("[" * depth + "]" * depth)
        assert f"nested deeper than {MAX_DEPTH} levels" in caught.value.message
    with pytest.raises(JsonDocumentError) as caught:
        loads('{"config": ' + '{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH + "}")
    assert caught.value.path is not None and caught.value.path.startswith("config.a.a.a")


def test_json_nul_is_refused_in_values_and_keys_but_an_escaped_backslash_is_text() -> None:
    for text in ('{"a": "x\\u0000"}', '{"a\\u0000": 1}', '[["\\u0000"]]'):
        with pytest.raises(JsonDocumentError, match="NUL"):
            loads(text)
    assert loads('{"a": "\\\\u0000"}') == {"a": "\\u0000"}


def test_json_keeps_what_json_means() -> None:
    assert loads('{"emoji": "\\ud83d\\ude00", "n": 1.5, "i": 9007199254740993, "t": true}') == {
        "emoji": "\U0001f600", "n": 1.5, "i": 9007199254740993, "t": True}
    assert loads("18446744073709551616") == 18446744073709551616.0  # as JavaScript's JSON.parse
    assert loads('  {"a": null}  ') == {"a": None}


@pytest.mark.parametrize(("text", "words"), [
    ("name: a\ndo: []\nname: b\n", "line 3, column 1: duplicate key 'name' (first at line 1)"),
    ("a:\n  x: 1\n  y: 2\n  x: 3\n", "line 4, column 3: duplicate key 'x' (first at line 2)"),
    ("{a: 1, a: 2}", "duplicate key 'a'"),
    ("1: a\n'1': b\n", "duplicate key '1'"),
    ("a: .nan\n", "NaN and infinite numbers are not JSON numbers"),
    ("a: [-.inf]\n", "line 1, column 5"),
    ("a: 1.0e+400\n", "NaN and infinite"),
    ('a: "x\\ud800"\n', "lone UTF-16 surrogate"),
    ('a: "\\0"\n', "NUL character"),
    ("a: " + "1" * 5000 + "\n", "integer too long"),
])
def test_yaml_refusals_name_the_line(text: str, words: str) -> None:
    with pytest.raises(YamlDocumentError) as caught:
        load_yaml(text)
    assert words in str(caught.value)


def test_yaml_keeps_merges_pairs_and_the_same_depth_as_json() -> None:
    assert load_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n") == {"base": {"x": 1, "y": 2},
                                                                           "c": {"x": 3, "y": 2}}
    assert load_yaml('a: "\\ud83d\\ude00"\n') == {"a": "\U0001f600"}
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(YamlDocumentError, match=f"deeper than {MAX_DEPTH}"):
        load_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
