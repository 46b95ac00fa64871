"""Parsing the query parameters of an events search (core/events/search.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events.search import InvalidQueryError, parse_search_params, query_params


def test_defaults() -> None:
    parsed = parse_search_params({})
    assert (parsed.page, parsed.limit, parsed.sort, parsed.max_depth) == (0, 50, "desc", 1)
    assert parsed.types == [] and parsed.filters == [] and parsed.text is None


def test_grouping_repeated_keys() -> None:
    assert query_params([("a", "1"), ("b", "2"), ("a", "3")]) == {"a": ["1", "3"], "b": "2"}


def test_values_are_parsed() -> None:
    parsed = parse_search_params({"types": ["x, y", "z"], "afterDate": "2024-01-02", "beforeDate": "2024-01-03T10:00:00Z",
                                  "text": "hello", "page": "2", "limit": "500", "sort": "ASC",
                                  "appInstanceDepth": "3", "payload.foo": ["a", "b*"], "source.userId": ""})
    assert parsed.types == ["x", "y", "z"]
    assert parsed.after == datetime(2024, 1, 2, tzinfo=UTC)
    assert parsed.before == datetime(2024, 1, 3, 10, tzinfo=UTC)
    assert (parsed.text, parsed.page, parsed.limit, parsed.sort, parsed.max_depth) == ("hello", 2, 500, "asc", 3)
    assert [(f.path, f.values) for f in parsed.filters] == [("payload.foo", ["a", "b*"]), ("source.userId", [""])]


def test_offset_dates_become_utc() -> None:
    assert parse_search_params({"afterDate": "2024-01-02T12:00:00+02:00"}).after == datetime(2024, 1, 2, 10, tzinfo=UTC)


def test_explicit_depth_filter_drops_the_default() -> None:
    assert parse_search_params({"source.appInstanceDepth": "2"}).max_depth is None
    assert parse_search_params({"source.appInstanceDepth": "2", "appInstanceDepth": "4"}).max_depth == 4


def test_ignored_parameters() -> None:
    assert parse_search_params({"after": "12"}, ignore={"after"}).filters == []


@pytest.mark.parametrize(("params", "parameter"), [
    ({"limit": "501"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"page": "-1"}, "page"),
    ({"sort": "sideways"}, "sort"),
    ({"afterDate": "yesterday"}, "afterDate"),
    ({"beforeDate": "2024-13-45"}, "beforeDate"),
    ({"appInstanceDepth": "-1"}, "appInstanceDepth"),
    ({"colour": "red"}, "colour"),
    ({"payloads.x": "1"}, "payloads.x"),
    ({"payload..x": "1"}, "payload..x"),
    ({"type.sub": "1"}, "type.sub"),
    ({"createdAt": "2024*"}, "createdAt"),
    ({"createdAt": "soon"}, "createdAt"),
])
def test_bad_parameters_are_400(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidQueryError) as info:
        parse_search_params(params)
    assert info.value.status == 400
    assert info.value.details == {"parameter": parameter}
    assert parameter.split(".")[0] in info.value.message or parameter in info.value.message
