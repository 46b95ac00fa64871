"""Pydantic DSUL models and the WorkspaceSource container."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from schemas.automations import Automation, parse_automation
from schemas.dsul import AppInstance, WorkspaceIndex, WorkspaceSource, endpoint_name
from schemas.errors import InvalidWorkspaceError
from schemas.instructions import Comment


def test_automation_model_defaults_and_aliases() -> None:
    model, problems = parse_automation("hello", {"name": "Hello", "do": [{"comment": "x"}]})
    assert problems == [] and model is not None
    assert model.do == (Comment(text="x"),)
    assert model.validate_arguments is False  # DECISIONS 8
    assert model.private is False and model.disabled is False
    assert not model.has_output
    _, unknown = parse_automation("hello", {"name": "Hello", "do": [], "unknown": 1})
    assert [(p.path, p.message) for p in unknown] == [(("unknown",), "is not a known field")]
    explicit = Automation.model_validate(
        {
            "name": {"en": "x"},
            "do": [],
            "output": None,
            "validateArguments": True,
            "when": {"endpoint": "hook"},
        }
    )
    assert explicit.has_output and explicit.output is None
    assert explicit.validate_arguments is True
    assert explicit.when is not None and explicit.when.endpoint == "hook"


def test_endpoint_name() -> None:
    assert endpoint_name("a", {"when": {"endpoint": True}}) == "a"
    assert endpoint_name("a", {"when": {"endpoint": "x"}}) == "x"
    assert endpoint_name("a", {"when": {"endpoint": False}}) is None
    assert endpoint_name("a", {"when": {"endpoint": ""}}) is None
    assert endpoint_name("a", {"when": {"events": ["x"]}}) is None
    assert endpoint_name("a", {}) is None


def test_app_instance_and_index_models() -> None:
    inst = AppInstance.model_validate({"appSlug": "Custom Code", "config": {"a": 1}})
    assert inst.app_slug == "Custom Code" and inst.disabled is False
    index = WorkspaceIndex.model_validate({"name": "Demo", "customDomains": ["x.io"], "strict": True})
    assert index.custom_domains == ["x.io"] and index.strict is True
    with pytest.raises(ValidationError):
        WorkspaceIndex.model_validate({"name": "Demo", "foo": 1})  # unknown root fields are refused


def test_document_form() -> None:
    doc = {
        "name": "Demo",
        "slug": "demo",
        "automations": {"a": {"name": "a", "do": []}},
        "imports": {"i": {"appSlug": "x"}},
        "security": {"authorizations": {}},
        "pages": {"p": {"name": "P"}},
    }
    source = WorkspaceSource.from_document(doc)
    assert source.index == {"name": "Demo", "slug": "demo"}
    assert source.to_document() == doc
    assert json.loads(json.dumps(source.to_document())) == doc
    minimal = WorkspaceSource.from_document({"name": "x", "automations": None})
    assert minimal.to_document() == {"name": "x", "automations": {}, "imports": {}}


def test_document_form_errors() -> None:
    with pytest.raises(InvalidWorkspaceError) as info:
        WorkspaceSource.from_document({"automations": [], "imports": {"a": "x"}, "security": 3})
    assert [d["path"] for d in info.value.details] == [
        "document: automations",
        "document: imports.a",
        "document: security",
    ]
    with pytest.raises(InvalidWorkspaceError):
        WorkspaceSource.from_document([])


def test_locate() -> None:
    archive = WorkspaceSource(paths={"automations/a": "automations/a.yaml"})
    assert archive.locate("automations", "a", ["do", 0]) == "automations/a.yaml: do[0]"
    assert archive.locate("automations", "b", []) == "automations/b.yml"
    assert archive.locate("index", None, ["name"]) == "index.yml: name"
    document = WorkspaceSource(origin="document")
    assert document.locate("automations", "my auto", ["do", 1, "conditions", "{{a}}"]) == (
        'document: automations["my auto"].do[1].conditions["{{a}}"]'
    )
    assert document.locate("index", None, []) == "document"
    assert archive == WorkspaceSource()  # paths and origin take no part in equality
