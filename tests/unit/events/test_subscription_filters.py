"""The subscription filter engine (core/events/filters.py) beyond the corpus cases."""

from __future__ import annotations

from typing import Any

import pytest

from core.events.filters import AppInstanceDepth, PayloadQuery, get_path, js_string
from core.events.subscriptions import SubscriptionFilters, engine_query_from_params


def ev(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "e1", "type": "order.paid", "source": {"workspaceId": "w", "correlationId": "c"},
                            "payload": {}, "createdAt": "2024-05-01T10:00:00.000Z"}
    base.update(fields)
    return base


def test_js_string_and_paths() -> None:
    assert [js_string(v) for v in (True, False, 8, 8.0, 1.5, None, "x")] == ["true", "false", "8", "8", "1.5", "null", "x"]
    assert get_path({"a": {"b": [1, {"c": 2}]}}, "a.b.1.c") == 2
    assert get_path({"a": 1}, "a.b") is not None  # missing sentinel, not None


def test_payload_query_wildcards_contains_and_lists() -> None:
    pq = PayloadQuery()
    pq.save("contains", {"payload.name": "*lic*"})
    pq.save("tags", {"payload.tags": "red"})
    pq.save("present", {"payload.tags": "*"})
    assert pq.match(ev(payload={"name": "Alice", "tags": ["blue", "red"]})) == {"contains", "tags", "present"}
    assert pq.match(ev(payload={"name": "Bob", "tags": []})) == {"present"}  # [] is truthy in JS
    pq.remove("present")
    pq.remove("missing-is-fine")
    assert pq.match(ev(payload={"name": "Bob"})) == set()


def test_socket_rule_respects_current_socket_false() -> None:
    pq = PayloadQuery()
    pq.save("listener", [{"source.sessionId": "s1"}])
    event = {"source": {"sessionId": "s1", "socketId": "other"}, "target": {"currentSocket": False}}
    assert pq.match(event) == {"listener"}


def test_depth_processor_ignores_non_numeric_depth() -> None:
    depth = AppInstanceDepth()
    depth.save("one", 1)
    assert depth.match({"source": {"appInstanceDepth": "deep"}}) == {"one"}
    assert depth.match({"source": {"appInstanceDepth": 2}}) == set()
    assert depth.match({}) == {"one"}


def test_engine_no_filter_matches_all_and_empty_types_match_nothing() -> None:
    engine = SubscriptionFilters()
    engine.save("all", {})
    engine.save("none", {"types": []})
    engine.save("falsy", {"text": "", "appInstanceDepth": 0, "payloadQuery": None})
    assert engine.match(ev()) == {"all", "falsy"}
    assert len(engine) == 3


def test_engine_rejects_unknown_filters() -> None:
    with pytest.raises(ValueError):
        SubscriptionFilters().save("x", {"colour": "red"})
    with pytest.raises(ValueError):
        SubscriptionFilters().save("x", {"afterDate": "yesterday"})


def _stream_match(params: dict[str, Any], event: dict[str, Any]) -> bool:
    engine = SubscriptionFilters()
    engine.save("q", engine_query_from_params(params))
    return engine.match(event) == {"q"}


def test_params_query_types_text_and_dates() -> None:
    assert _stream_match({"types": "a,order.paid"}, ev())
    assert not _stream_match({"types": ["a", "b"]}, ev())
    assert _stream_match({"text": "ORDER"}, ev())  # type, case-insensitive
    assert _stream_match({"text": "ALICE"}, ev(payload={"who": "alice"}))
    assert not _stream_match({"text": "workspaceId"}, ev())  # the source is not searched
    assert _stream_match({"afterDate": "2024-05-01T09:00:00Z", "beforeDate": "2024-05-01T11:00:00Z"}, ev())
    assert not _stream_match({"afterDate": "2024-05-01T10:00:00Z"}, ev())  # exclusive
    assert not _stream_match({"beforeDate": "2024-05-01T10:00:00Z"}, ev())


def test_params_query_field_filters_are_strict() -> None:
    assert _stream_match({"payload.n": "0"}, ev(payload={"n": 0}))
    assert _stream_match({"payload.ok": "false"}, ev(payload={"ok": False}))
    assert _stream_match({"payload.order": "8"}, ev(payload={"order": 8}))
    assert _stream_match({"payload.gone": ""}, ev(payload={"gone": None}))
    assert not _stream_match({"payload.n": ""}, ev(payload={"n": 0}))  # 0 is a value for GET
    assert _stream_match({"payload.n": "*"}, ev(payload={"n": 0}))
    assert _stream_match({"source.userId": ["u1", "u2"]}, ev(source={"userId": "u2"}))
    assert not _stream_match({"source.userId": ["u1", "u2"], "payload.x": "1"}, ev(source={"userId": "u2"}))
    assert _stream_match({"type": "order.*"}, ev())


def test_params_query_app_instance_depth() -> None:
    nested = ev(source={"appInstanceDepth": 2})
    assert not _stream_match({}, nested)  # default depth 1
    assert _stream_match({"appInstanceDepth": "2"}, nested)
    assert _stream_match({"source.appInstanceDepth": "2"}, nested)  # explicit filter: no default
    assert not _stream_match({"appInstanceDepth": "0"}, ev(source={"appInstanceDepth": 1}))
    assert _stream_match({"appInstanceDepth": "0"}, ev(source={"appInstanceDepth": 0}))
    assert _stream_match({"page": "3", "limit": "1", "sort": "asc"}, ev())  # paging is ignored
    engine = SubscriptionFilters()
    engine.save("q", engine_query_from_params({"after": "5"}, ignore={"after"}))
    assert engine.match(ev()) == {"q"}
