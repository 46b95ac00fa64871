"""The validation.yaml corpus run through the reference schemas (tests/conformance/reference_schemas.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conformance.reference_schemas import is_valid, reference_errors

ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
FILE = CORPUS / "validation.yaml"


def _load() -> dict[str, Any]:
    if not FILE.exists():
        return {"instruction_schemas": {}, "cases": []}
    return yaml.safe_load(FILE.read_text(encoding="utf-8"))


DATA = _load()
CASES = DATA["cases"]
SCHEMAS = DATA["instruction_schemas"]
needs_corpus = pytest.mark.skipif(not FILE.exists(), reason=f"{FILE} not found")


@needs_corpus
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_validation_yaml_case(case: dict[str, Any]) -> None:
    if case.get("skip"):
        pytest.skip(case["skip"])
    assert is_valid(case["schema"], case["value"], SCHEMAS) is case["expected"]


@needs_corpus
def test_validation_yaml_cases() -> None:
    """All non-skipped cases pass (33 of 34 at the time of writing)."""
    run = [c for c in CASES if not c.get("skip")]
    passed = [c["name"] for c in run if is_valid(c["schema"], c["value"], SCHEMAS) is c["expected"]]
    failed = sorted({c["name"] for c in run} - set(passed))
    print(
        f"\nvalidation.yaml via is_valid: {len(passed)} passed, {len(failed)} failed, "
        f"{len(CASES) - len(run)} skipped"
    )
    assert not failed
    assert len(passed) >= 33


def test_error_lists() -> None:
    schemas = {"set": {"type": "object", "properties": {"set": {"type": "object", "properties": {
        "name": {"type": "string"}}}}}}
    assert reference_errors("automation", {"name": "a", "do": []}, schemas) == []
    errors = reference_errors("automation", {"name": 3, "do": "x", "extra": 1}, schemas)
    assert any("extra" in e for e in errors) and any("'x' is not of type 'array'" in e for e in errors)
    assert reference_errors("instruction:set", {"set": {"name": 3}}, schemas) == ["3 is not of type 'string'"]


def test_unknown_schema_refs() -> None:
    with pytest.raises(ValueError):
        is_valid("nope", {}, {})
    with pytest.raises(KeyError):
        is_valid("instruction:nope", {}, {})
