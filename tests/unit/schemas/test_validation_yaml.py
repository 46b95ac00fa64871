"""The validation.yaml corpus run through ``schemas.validation.is_valid``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.automation_schema import reference_instruction_schemas
from schemas.validation import is_valid, validate_automation_schema, validate_instruction_schema

ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
FILE = CORPUS / "validation.yaml"


def _load() -> dict[str, Any]:
    if not FILE.exists():
        return {"instruction_schemas": {}, "cases": []}
    return yaml.safe_load(FILE.read_text(encoding="utf-8"))


DATA = _load()
CASES = DATA["cases"]
needs_corpus = pytest.mark.skipif(not FILE.exists(), reason=f"{FILE} not found")


@needs_corpus
def test_instructions_json_is_the_corpus_copy() -> None:
    assert reference_instruction_schemas() == DATA["instruction_schemas"]


@needs_corpus
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_validation_yaml_case(case: dict[str, Any]) -> None:
    if case.get("skip"):
        pytest.skip(case["skip"])
    assert is_valid(case["schema"], case["value"]) is case["expected"]


@needs_corpus
def test_validation_yaml_cases() -> None:
    """All non-skipped cases pass (33 of 34 at the time of writing)."""
    run = [c for c in CASES if not c.get("skip")]
    passed = [c["name"] for c in run if is_valid(c["schema"], c["value"]) is c["expected"]]
    failed = sorted({c["name"] for c in run} - set(passed))
    print(
        f"\nvalidation.yaml via is_valid: {len(passed)} passed, {len(failed)} failed, "
        f"{len(CASES) - len(run)} skipped"
    )
    assert not failed
    assert len(passed) >= 33


def test_error_lists() -> None:
    assert validate_automation_schema({"name": "a", "do": []}) == []
    errors = validate_automation_schema({"name": 3, "do": "x", "extra": 1})
    assert any("extra" in e for e in errors)
    assert any(e.startswith("do:") for e in errors)
    assert validate_instruction_schema("set", {"set": {"name": "a", "value": 1}}) == []
    assert validate_instruction_schema("set", {"set": {"name": 3, "value": 1}}) == [
        "set.name: 3 is not of type 'string'"
    ]


def test_unknown_schema_refs() -> None:
    with pytest.raises(ValueError):
        is_valid("nope", {})
    with pytest.raises(KeyError):
        is_valid("instruction:nope", {})
