"""The computed events index of automations and app instances, and instance config checks."""

from __future__ import annotations

from datetime import UTC, datetime

from core.apps.catalog import app_details, generated_version_name
from core.apps.instance_checks import config_problems
from core.events.declared import (
    app_events,
    automation_events,
    compute_emitted_events,
    instance_events,
)

INTENTS = {"intents": {"welcome": {"phrases": "bonjour"}, "goodbye": {"phrases": "aurevoir"}}}


def test_automation_events_walk_nested_instructions() -> None:
    automation = {"when": {"events": ["a", "b", "a"]}, "do": [
        {"emit": {"event": "top"}},
        {"conditions": {"x": [{"emit": {"event": "inBranch"}}], "default": [{"emit": {"event": "top"}}]}},
        {"repeat": {"on": "{{items}}", "do": [{"all": [{"emit": {"event": "deep"}}]}]}},
        {"emit": {"event": "{{dynamic}}"}},
        {"emit": {"event": "{{e}}", "autocomplete": {"e": {"from": "appConfig", "path": "k[*]"}}}},
    ]}
    assert automation_events(automation) == {
        "emit": ["top", "inBranch", "deep"], "listen": ["a", "b"],
        "autocomplete": [{"event": "{{e}}", "autocomplete": {"e": {"from": "appConfig", "path": "k[*]"}}}]}
    assert automation_events({"name": "x"}) == {"emit": [], "listen": [], "autocomplete": []}
    assert automation_events(None) == {"emit": [], "listen": [], "autocomplete": []}


def test_compute_emitted_events_with_jsonpath_plus_paths() -> None:
    keys = {"event": "{{event}}", "autocomplete": {
        "event": {"template": "intents.detected.${value}", "from": "appConfig", "path": "intents[*]~"}}}
    assert compute_emitted_events(keys, INTENTS) == ["intents.detected.welcome", "intents.detected.goodbye"]
    values = {"event": "said.{{p}}", "autocomplete": {"p": {"from": "appConfig", "path": "$..phrases"}}}
    assert compute_emitted_events(values, INTENTS) == ["said.bonjour", "said.aurevoir"]
    indexes = {"event": "n{{i}}", "autocomplete": {"i": {"path": "list[*]~"}}}
    assert compute_emitted_events(indexes, {"list": ["a", "b"]}) == ["n0", "n1"]
    both = {"event": "{{a}}.{{b}}", "autocomplete": {"a": {"path": "x[*]"}, "b": {"path": "y[*]"}}}
    assert compute_emitted_events(both, {"x": ["1", "2"], "y": ["z"]}) == ["1.z", "2.z"]
    assert compute_emitted_events({"event": "plain"}, {}) == ["plain"]
    assert compute_emitted_events({"event": "{{x}}"}, {}) == []
    other_source = {"event": "{{e}}", "autocomplete": {"e": {"from": "somewhere", "path": "intents[*]~"}}}
    assert compute_emitted_events(other_source, INTENTS) == []
    assert compute_emitted_events({"event": "{{e}}", "autocomplete": {"e": {"path": "[[bad"}}}, INTENTS) == []
    assert compute_emitted_events(keys, None) == []


def test_app_and_instance_events() -> None:
    document = {"automations": {
        "pub": {"name": "pub", "when": {"events": ["request"]}, "do": [{"emit": {"event": "done"}}]},
        "priv": {"name": "priv", "private": True, "do": [{"emit": {"event": "{{e}}", "autocomplete": {
            "e": {"template": "intents.detected.${value}", "path": "intents[*]~"}}}}]},
        "off": {"name": "off", "disabled": True, "do": [{"emit": {"event": "never"}}]},
    }}
    events = app_events(document)
    assert events["emit"] == ["done"] and events["listen"] == ["request"] and len(events["autocomplete"]) == 1
    assert instance_events(events, "bot", INTENTS) == {
        "emit": ["bot.done", "bot.intents.detected.welcome", "bot.intents.detected.goodbye"], "listen": ["request"]}
    details = app_details({**document, "photo": "p", "config": {"schema": {"a": {}}, "value": {"a": 1}},
                           "blocks": {"Editor": {"url": "u"}}, "pages": {"_doc": {}}, "slug": "src"})
    assert [a["slug"] for a in details["automations"]] == ["pub"]
    assert details["config"] == {"schema": {"a": {}}} and details["blocks"] == [{"slug": "Editor", "url": "u"}]
    assert details["documentation"] == {"workspaceSlug": "src", "slug": "_doc"}


def test_instance_config_is_checked_against_the_app_schema() -> None:
    doc = {"config": {"schema": {"url": {"type": "string", "ui:widget": "x", "secret": True},
                                 "n": {"type": "number"}, "title": {"type": "localized:string"}}}}
    assert config_problems(doc, {"url": "u", "n": 1, "title": {"fr": "t"}}) == []
    assert config_problems(doc, None) == []
    assert config_problems(doc, {"n": "{{config.count}}"}) == []  # resolved at run time
    assert config_problems(doc, {"n": "one"}) == [("config.n", "'one' is not of type 'number'")]
    assert config_problems(doc, [1]) == [("config", "must be an object")]
    assert config_problems({}, {"anything": 1}) == []
    # an app schema that is not a valid JSON Schema cannot refuse installs
    assert config_problems({"config": {"schema": {"x": {"type": 12}}}}, {"x": 1}) == []


def test_generated_version_names() -> None:
    now = datetime(2025, 4, 7, 12, 0, tzinfo=UTC)
    assert generated_version_name(3, now) == f"4-7-2025.3-{int(now.timestamp() * 1000)}"
