"""The Elasticsearch query translator (core/events/es_query.py, es_aggs.py, es_search.py): what is
refused, with which path, every problem at once; sort, paging and ``_source`` helpers. The
queries' results are checked on both databases by tests/api/test_search_api.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.events.es_aggs import parse_aggs
from core.events.es_query import QueryTranslator, as_number, scalar_text
from core.events.es_read import literal_prefix
from core.events.es_search import filter_source, order_by, parse_sort, parse_source, window
from core.events.es_sql import Sql, glob_pattern, resolve_field
from schemas.api.search import parse_search_body
from schemas.errors import SearchError

NOW = datetime(2024, 3, 15, tzinfo=UTC)


def problems(query: Any, dialect: str = "sqlite") -> list[dict[str, str]]:
    translator = QueryTranslator(Sql(dialect), NOW)
    translator.translate(query)
    return translator.problems


def paths(query: Any) -> list[str]:
    return [p["path"] for p in problems(query)]


SUPPORTED = [
    {"match_all": {}},
    {"bool": {"filter": [{"term": {"type": "a"}}], "must": {"match": {"payload": "x"}},
              "should": [{"terms": {"source.userId": ["u1", "u2"]}}], "must_not": [{"exists": {"field": "target"}}],
              "minimum_should_match": 1}},
    {"term": {"payload.n": {"value": 8}}},
    {"range": {"@timestamp": {"gte": "now-1d/d", "lt": "now"}}},
    {"range": {"payload.n": {"gt": 1, "lte": "10"}}},
    {"range": {"type": {"gte": "a"}}},
    {"prefix": {"type": {"value": "orders."}}},
    {"wildcard": {"payload.name": {"wildcard": "B?b*"}}},
    {"match": {"payload.name": {"query": "alice bob", "operator": "and"}}},
    {"match_phrase": {"payload": "alice smith"}},
    {"exists": {"field": "source.correlationId"}},
]


@pytest.mark.parametrize("query", SUPPORTED)
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_supported_clauses_translate(query: dict[str, Any], dialect: str) -> None:
    assert problems(query, dialect) == []


# One case per unsupported family: another clause, an unknown option of a supported one, a
# script, a field that does not exist, a malformed clause.
REFUSED: list[tuple[Any, str]] = [
    ({"bool": {"must": [{"term": {"type": "x"}}, {"fuzzy": {"type": "x"}}]}}, "query.bool.must[1].fuzzy"),
    ({"query_string": {"query": "x"}}, "query.query_string"),
    ({"nested": {"path": "payload"}}, "query.nested"),
    ({"script": {"script": "doc['x']"}}, "query.script"),
    ({"bool": {"filter": {"term": {"type": "x"}}, "boost": 2}}, "query.bool.boost"),
    ({"term": {"type": {"value": "x", "boost": 2}}}, "query.term.type.boost"),
    ({"term": {"type": {"value": "x", "case_insensitive": True}}}, "query.term.type.case_insensitive"),
    ({"terms": {"type": ["a"], "boost": 1}}, "query.terms"),
    ({"range": {"@timestamp": {"gte": "now-1d", "time_zone": "+01:00"}}}, "query.range.@timestamp.time_zone"),
    ({"range": {"@timestamp": {"gte": "now-1x"}}}, "query.range.@timestamp.gte"),
    ({"match": {"payload": {"query": "x", "fuzziness": 2}}}, "query.match.payload.fuzziness"),
    ({"match_phrase": {"payload": {"query": "x", "slop": 1}}}, "query.match_phrase.payload.slop"),
    ({"exists": {"field": "payload.x", "boost": 1}}, "query.exists"),
    ({"prefix": {"payload.x": {"value": "a", "rewrite": "x"}}}, "query.prefix.payload.x.rewrite"),
    ({"wildcard": {"payload.x": 5}}, "query.wildcard.payload.x"),
    ({"match_all": {"boost": 1}}, "query.match_all"),
    ({"term": {"unknown.field": "x"}}, "query.term.unknown.field"),
    ({"term": {"payload.x": None}}, "query.term.payload.x"),
    ({"bool": {"minimum_should_match": "3<90%", "should": [{"match_all": {}}]}}, "query.bool.minimum_should_match"),
    ({"term": {"a": 1}, "terms": {"b": [1]}}, "query"),
    ([{"match_all": {}}], "query"),
]


@pytest.mark.parametrize(("query", "path"), REFUSED)
def test_unsupported_clauses_are_named_with_their_path(query: Any, path: str) -> None:
    assert paths(query) == [path]


def test_every_problem_is_reported_at_once() -> None:
    body = {"query": {"bool": {"must": [{"fuzzy": {"a": 1}}, {"regexp": {"b": "c"}}], "boost": 1}},
            "sort": ["_score", {"payload.x": {"order": "desc", "mode": "min"}}],
            "aggs": {"a": {"cardinality": {"field": "type"}}, "b": {"terms": {"field": "type", "script": "x"}},
                     "c": {"terms": {"field": "type"}, "aggs": {"d": {"terms": {"field": "id"},
                                                                        "aggs": {"e": {"max": {"field": "size"}}}}}},
                     "f": {"max": {"field": "size"}, "aggs": {"g": {"min": {"field": "size"}}}}},
            "runtime_mappings": {}, "size": 10}
    parsed, found = parse_search_body(body)
    translator = QueryTranslator(Sql("sqlite"), NOW, found)
    translator.translate(parsed.query)
    parse_sort(parsed.sort, found)
    parse_aggs(parsed.aggs, found)
    assert [p["path"] for p in found] == [
        "runtime_mappings", "size", "query.bool.must[0].fuzzy", "query.bool.must[1].regexp", "query.bool.boost",
        "sort[0]", "sort[1].payload.x.mode", "aggs.a.cardinality", "aggs.b.terms.script", "aggs.c.aggs.d.aggs",
        "aggs.f.aggs"]
    with pytest.raises(SearchError) as raised:
        translator.raise_problems()
    assert raised.value.status == 400 and len(raised.value.details) == len(found)
    assert "runtime_mappings" in raised.value.message and "(and 10 more)" in raised.value.message


def test_body_types_are_strict() -> None:
    for body in ({"query": "x"}, {"query": {}, "limit": "10"}, {"query": {}, "limit": 501}, {"query": {}, "page": -1},
                 {}, {"query": {}, "scope": "apps"}, {"query": {}, "source": 5}):
        with pytest.raises(SearchError):
            parse_search_body(body)
    with pytest.raises(SearchError) as raised:
        parse_search_body([1])
    assert raised.value.details == [{"path": "body", "message": "must be an object, got list"}]


def test_aggregations_are_checked() -> None:
    found: list[dict[str, str]] = []
    aggs = parse_aggs({"h": {"date_histogram": {"field": "payload.when", "calendar_interval": "1M"}},
                       "t": {"terms": {"field": "type", "size": 0}}, "s": {"sum": {"field": "@timestamp"}},
                       "m": {"min": {"field": "type"}}, "x": {"terms": {}}, "y": {"avg": {"field": "payload.n"}},
                       "z": {"value_count": {"field": "nope"}}}, found)
    assert [p["path"] for p in found] == [
        "aggs.h.date_histogram.field", "aggs.h.date_histogram.calendar_interval", "aggs.t.terms.size",
        "aggs.s.sum.field", "aggs.m.min.field", "aggs.x.terms.field", "aggs.z.value_count.field"]
    assert [a.name for a in aggs] == ["h", "t", "s", "m", "y"]


def test_sort_forms() -> None:
    found: list[dict[str, str]] = []
    keys = parse_sort([{"@timestamp": "desc"}, {"payload.n": {"order": "asc"}}, "type"], found)
    assert found == [] and [(k.name, d) for k, d in keys] == [("@timestamp", "DESC"), ("payload.n", "ASC"),
                                                              ("type", "ASC")]
    assert parse_sort({"createdAt": "asc"}, found)[0][0].column == "created_at"
    assert order_by(Sql("sqlite"), []) == "events.seq DESC"  # default: newest first
    parse_sort([{"type": "up"}, {"a": "asc", "b": "desc"}, 5], found)
    assert [p["path"] for p in found] == ["sort[0]", "sort[1]", "sort[2]"]


def test_paging_is_one_indexed() -> None:
    def page(**kw: Any) -> tuple[int, int]:
        return window(parse_search_body({"query": {"match_all": {}}, **kw})[0], [])

    assert page() == (0, 10)
    assert page(page=0, limit=5) == (0, 5)
    assert page(page=1, limit=5) == (0, 5)
    assert page(page=3, limit=5) == (10, 5)
    found: list[dict[str, str]] = []
    window(parse_search_body({"query": {}, "page": 21, "limit": 500})[0], found)
    assert found and found[0]["path"] == "page"


def test_source_filtering() -> None:
    event = {"id": "e1", "type": "t", "source": {"userId": "u", "workspaceId": "w"},
             "payload": {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": {}}, "createdAt": "x"}
    assert filter_source(event, None) is event
    assert filter_source(event, []) == {"id": "e1"}
    assert filter_source(event, ["payload.a.b", "type"]) == {"id": "e1", "type": "t", "payload": {"a": {"b": 1}}}
    assert filter_source(event, ["payload"]) == {"id": "e1", "payload": event["payload"]}
    assert filter_source(event, ["source.*"]) == {"id": "e1", "source": event["source"]}
    assert filter_source(event, ["*.d"]) == {"id": "e1", "payload": {"d": [1, 2]}}
    assert filter_source(event, ["nothing"]) == {"id": "e1"}
    found: list[dict[str, str]] = []
    assert parse_source("type", found) == ["type"] and parse_source(False, found) == []
    assert parse_source(True, found) is None and found == []


def test_fields() -> None:
    assert resolve_field("@timestamp").column == "created_at"  # type: ignore[union-attr]
    assert resolve_field("source.correlationId").column == "correlation_id"  # type: ignore[union-attr]
    ref = resolve_field("payload.items.0.name")
    assert not isinstance(ref, str) and (ref.column, ref.path) == ("payload", ("items", "0", "name"))
    for bad in ("", "unknown", "payload..x", 'payload."x', "payload.x\\y", 5, "type.sub"):
        assert isinstance(resolve_field(bad), str)


def test_values_and_patterns() -> None:
    assert scalar_text(True) == "true" and scalar_text(8.0) == "8" and scalar_text(8.5) == "8.5"
    assert as_number("8") == 8 and as_number("-1.5e2") == -150 and as_number("x") is None and as_number(True) is None
    sqlite = Sql("sqlite")
    assert glob_pattern(sqlite, "a*b?c\\*[") == ("GLOB", ":es0")
    assert sqlite.params["es0"] == "a*b?c[*][[]"
    pg = Sql("postgresql")
    assert glob_pattern(pg, "50%_*")[0] == "LIKE" and pg.params["es0"] == "50\\%\\_%"


def test_literal_prefixes_of_rule_regexes() -> None:
    assert literal_prefix("^apikeys\\.") == "apikeys."
    assert literal_prefix("^orders\\..*") == "orders."
    assert literal_prefix("^a-b_c:d") == "a-b_c:d"
    for other in ("apikeys", "^a.b", "^a$", "^(a|b)", "^a\\d", "^a+", 5):
        assert literal_prefix(other) is None
