from __future__ import annotations

import pytest

from language import UNDEFINED, InvalidVariableNameError, get_path, parse_variable_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        ("a[0]", ("a", 0)),
        ("a.0", ("a", 0)),
        ("a[0].b", ("a", 0, "b")),
        ('a["k.with.dots"]', ("a", "k.with.dots")),
        ("a['k']", ("a", "k")),
        ("a[k]", ("a", "k")),
        ("a[k.x]", ("a", "k.x")),
        ('a["0"]', ("a", "0")),
        ("a[01]", ("a", "01")),
        ("a[-1]", ("a", "-1")),
        (" a ", (" a ",)),
        ("a-b.c d", ("a-b", "c d")),
        ("a[0][1]", ("a", 0, 1)),
        ('a[""]', ("a", "")),
    ],
)
def test_parse_variable_path(path: str, expected: tuple) -> None:
    assert parse_variable_path(path) == expected


@pytest.mark.parametrize("path", ["", "a.", "[0]", "a..b", ".a", "a[", "a[]", "a[0]b", 'a["x]', "a.[0]"])
def test_invalid_variable_paths(path: str) -> None:
    with pytest.raises(InvalidVariableNameError) as info:
        parse_variable_path(path)
    assert info.value.details["expression"] == path
    assert isinstance(info.value.details["position"], int)


SCOPE = {"a": {"b": [10, {"c": "deep"}], "0": "zero"}, "s": "Hello", "n": None, "l": [1, 2, 3]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b[0]", 10),
        ("a.b.1.c", "deep"),
        ("a.0", "zero"),
        ("a[0]", "zero"),
        ("s[0]", "H"),
        ("s.length", 5),
        ("l.length", 3),
        ("l[3]", UNDEFINED),
        ("l[-1]", UNDEFINED),
        ("n", None),
        ("n.x", UNDEFINED),
        ("missing.x.y", UNDEFINED),
        ("s.x", UNDEFINED),
        ("a.b.c", UNDEFINED),
    ],
)
def test_get_path(path: str, expected: object) -> None:
    assert get_path(SCOPE, path) == expected if expected is not UNDEFINED else get_path(SCOPE, path) is UNDEFINED


def test_get_path_with_segments_and_custom_mapping() -> None:
    from collections.abc import Mapping

    class Layered(Mapping):
        def __init__(self) -> None:
            self.calls: list[str] = []

        def __getitem__(self, key: str) -> object:
            self.calls.append(key)
            if key == "x":
                return {"y": 1}
            raise KeyError(key)

        def __iter__(self):  # pragma: no cover - must never be used
            raise AssertionError("scope must not be iterated")

        def __len__(self) -> int:  # pragma: no cover
            raise AssertionError("scope must not be sized")

    scope = Layered()
    assert get_path(scope, ["x", "y"]) == 1
    assert get_path(scope, "nope") is UNDEFINED
    assert scope.calls == ["x", "nope"]
