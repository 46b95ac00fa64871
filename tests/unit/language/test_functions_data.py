"""JSON, object, array and URL functions (issue 17 item 7), as conformance-style tables written
from the reference documentation (plugin/llmDoc/01-automations.md "JSON", "Deep Merge", "URL") and
the plain-value helpers of the reference linter's whitelist (``keys values entries fromEntries
assign flat reverse sort`` and the URI encoders)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from language import UNDEFINED, InvalidExpressionSyntax, evaluate

from .helpers import fixed_env, same

SCOPE: dict[str, Any] = {
    "obj1": {"user": {"name": "Ada", "tags": ["a"]}, "n": 1, "text": "Hel"},
    "obj2": {"user": {"age": 36, "tags": ["b"]}, "n": 2, "text": "lo"},
    "payload": {"data": {"foo": "bar"}}, "llm": 'Sure! Here it is: ```json\n{"ok": true, "items": [1, 2]}\n```',
    "o": {"a": 1, "b": {"c": 2}}, "pairs": [["x", 1], ["y", [2]]], "nested": [1, [2, [3, [4]]]],
    "words": ["pear", "Apple", "fig"], "nums": [10, 9, 100, -1], "url": "https://www.google.fr/path/?foo=bar",
    "link": "HTTPS://user:pw@Example.COM:8443/a b/c?x=1&x=2&y=#top", "acc": None, "chunk": {"delta": "Hi"},
}


def ev(expression: str) -> Any:
    return evaluate(expression, SCOPE, env=fixed_env())




CASES: dict[str, list[tuple[str, Any]]] = {
    "json": [("json('{\"foo\": \"bar\"}')", {"foo": "bar"}), ("json({{payload.data}})", '{"foo":"bar"}')],
    "unsafejson": [
        ("unsafejson('Text: [\"un\"] !')", ["un"]), ("unsafejson({{llm}})", {"ok": True, "items": [1, 2]}),
        ("unsafejson('{\"a\": 1}')", {"a": 1}), ("unsafejson('12')", 12), ("unsafejson('no json here')", UNDEFINED),
        ("unsafejson('a {broken} then {\"b\": 2}')", {"b": 2}), ("unsafejson({{o}})", {"a": 1, "b": {"c": 2}}),
    ],
    "deepmerge": [
        ("deepmerge({{obj1}}, {{obj2}})", {"user": {"name": "Ada", "tags": ["a", "b"], "age": 36}, "n": 2, "text": "lo"}),
        ("deepmerge({{obj1}}, {{obj2}}, {concatStrings: true})",
         {"user": {"name": "Ada", "tags": ["a", "b"], "age": 36}, "n": 2, "text": "Hello"}),
        ("deepmerge({{acc}}, {{chunk}}, {concatStrings: true})", {"delta": "Hi"}),
        ("deepmerge({{chunk}}, {delta: ' there'}, {concatStrings: true})", {"delta": "Hi there"}),
        ("deepmerge([1], [2, 3])", [1, 2, 3]), ("deepmerge({{o}}, {{missing}})", {"a": 1, "b": {"c": 2}}),
    ],
    "keys": [("keys({{o}})", ["a", "b"]), ("keys(['x', 'y'])", ["0", "1"]), ("keys({})", [])],
    "values": [("values({{o}})", [1, {"c": 2}]), ('values("ab")', ["a", "b"])],
    "entries": [("entries({{o}})", [["a", 1], ["b", {"c": 2}]])],
    "fromEntries": [("fromEntries({{pairs}})", {"x": 1, "y": [2]}), ("fromEntries(entries({{o}}))", {"a": 1, "b": {"c": 2}})],
    "assign": [("assign({{o}}, {b: 3}, null, {c: 4})", {"a": 1, "b": 3, "c": 4}), ("assign({})", {})],
    "flat": [("flat({{nested}})", [1, 2, [3, [4]]]), ("flat({{nested}}, 2)", [1, 2, 3, [4]]),
             ("flat({{nested}}, 0)", [1, [2, [3, [4]]]])],
    "reverse": [("reverse({{words}})", ["fig", "Apple", "pear"]), ("reverse([])", [])],
    "sort": [("sort({{nums}})", [-1, 9, 10, 100]), ("sort({{words}})", ["Apple", "fig", "pear"]), ("sort([])", [])],
    "jsonmatch": [('jsonmatch({{o}}, {"$or": [{"a": 2}, {"b.c": 2}]})', True), ('jsonmatch({{o}}, {a: 2})', False)],
    "URLSearchParams": [('URLSearchParams("key1=value1").asJSON', {"key1": "value1"}),
                        ('URLSearchParams({foo: "bar"}).asString', "foo=bar")],
    "URL": [
        ("URL({{url}}).hostname", "www.google.fr"), ("URL({{url}}).searchParams", {"foo": "bar"}),
        ("URL({{url}}).pathname", "/path/"), ("URL({{url}}).protocol", "https:"), ("URL({{url}}).search", "?foo=bar"),
        ("URL({{url}}).origin", "https://www.google.fr"), ("URL({{url}}).href", "https://www.google.fr/path/?foo=bar"),
        ("URL({{link}}).host", "example.com:8443"), ("URL({{link}}).port", "8443"), ("URL({{link}}).hash", "#top"),
        ("URL({{link}}).username", "user"), ("URL({{link}}).searchParams", {"x": "2", "y": ""}),
        ("URL({{link}}).pathname", "/a%20b/c"), ('URL("https://h.fr:443").port', ""),
        ('URL("../x?q=1", "https://h.fr/a/b/c").href', "https://h.fr/a/x?q=1"),
        ('URL("mailto:ada@example.com").pathname', "ada@example.com"),
    ],
    "encodeURIComponent": [('encodeURIComponent("a b&c/é")', "a%20b%26c%2F%C3%A9"),
                           ("encodeURIComponent(42)", "42"), ("encodeURIComponent(\"(it's)~*\")", "(it's)~*")],
    "encodeURI": [('encodeURI("https://x.fr/a b?q=é&r=1#h")', "https://x.fr/a%20b?q=%C3%A9&r=1#h")],
    "decodeURIComponent": [('decodeURIComponent("a%20b%26c%2F%C3%A9")', "a b&c/é"), ('decodeURIComponent("plain")', "plain")],
    "decodeURI": [('decodeURI("a%20b%26c%2F%C3%A9")', "a b%26c%2Fé")],
}


@pytest.mark.parametrize(("function", "expression", "expected"),
                         [(f, e, x) for f, cases in CASES.items() for e, x in cases])
def test_data_function(function: str, expression: str, expected: Any) -> None:
    result = ev(expression)
    assert same(result, expected), result


ERRORS: list[tuple[str, str]] = [
    ("unsafejson()", "unsafejson(): expects 1 argument, got 0"),
    ('deepmerge({{o}}, "x")', "deepmerge(): expects objects or arrays to merge, got a string as argument 2"),
    ("deepmerge({{o}}, [1])", "deepmerge(): cannot merge an array into an object"),
    ("deepmerge({{o}}, {{o}}, {concat: true})", "deepmerge(): unknown option 'concat' (the only option is concatStrings)"),
    ("deepmerge({{o}}, {{o}}, true)", "deepmerge(): expects an options object as third argument, got a boolean"),
    ("deepmerge({{o}})", "deepmerge(): expects 2 to 3 arguments, got 1"),
    ("keys({{missing}})", "keys(): expects an object, an array or a string, got undefined"),
    ("values(12)", "values(): expects an object, an array or a string, got a number"),
    ("entries()", "entries(): expects 1 argument, got 0"),
    ("fromEntries({{o}})", "fromEntries(): expects an array as first argument, got an object"),
    ("fromEntries(['ab'])", "fromEntries(): expects an array of [key, value] pairs, found a string"),
    ("assign([1])", "assign(): expects an object as first argument, got an array"),
    ("assign({{o}}, 'x')", "assign(): expects objects, got a string as argument 2"),
    ('flat({{nested}}, "all")', "flat(): expects a depth >= 0 as second argument, got a string"),
    ('reverse("abc")', "reverse(): expects an array as first argument, got a string"),
    ("sort([1, 'a'])", "sort(): can only sort an array of numbers or an array of strings"),
    ('URL("not a url")', "URL(): the text is not an absolute URL"),
    ('URL("/relative")', "a relative one needs a base"),
    ('URL("https://")', "URL(): the text is not an absolute URL"),
    ('URL("x", "also relative")', "URL(): the base is not an absolute URL"),
    ('URL("http://h:99999/")', "URL(): the text is not an absolute URL"),
    ("URL({{o}})", "URL(): expects a string as first argument, got an object"),
    ("encodeURIComponent({{o}})", "encodeURIComponent(): expects a string as first argument, got an object"),
    ('decodeURIComponent("100%")', "decodeURIComponent(): malformed escape at character 4"),
    ('decodeURIComponent("%E0%A4%A")', "malformed escape"),
    ('decodeURI("%C3%28")', "decodeURI(): the escapes at character 1 are not valid UTF-8"),
    ("json('{\"a\": }')", "json(): invalid JSON"),
]


@pytest.mark.parametrize(("expression", "message"), ERRORS)
def test_data_function_errors(expression: str, message: str) -> None:
    with pytest.raises(InvalidExpressionSyntax) as info:
        ev(expression)
    assert message in info.value.message


def test_functions_never_change_their_arguments() -> None:
    scope = copy.deepcopy(SCOPE)
    before = copy.deepcopy(scope)
    for expression in ["deepmerge({{obj1}}, {{obj2}}, {concatStrings: true})", "assign({{o}}, {a: 9})",
                       "reverse({{words}})", "sort({{nums}})", "flat({{nested}}, 9)", "concat({{words}}, 'x')",
                       "fromEntries({{pairs}})", "values({{o}})"]:
        evaluate(expression, scope, env=fixed_env())
    assert scope == before


def test_unsafejson_gives_up_after_bounded_attempts_on_hostile_text() -> None:
    hostile = "{" * 5000 + '{"late": 1}'
    assert evaluate("unsafejson({{t}})", {"t": hostile}, env=fixed_env()) is UNDEFINED
