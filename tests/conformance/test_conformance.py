"""The conformance runner: every case of every corpus file, through the real engine.

``pytest -q -s tests -k conformance`` selects exactly these tests; per-file counts are
printed by ``pytest_terminal_summary`` (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conformance import pure_cases
from tests.conformance.corpus import Case, load_cases
from tests.conformance.crud_cases import run_crud_case
from tests.conformance.engine_cases import run_automation_case, skip_reason
from tests.conformance.permissions_cases import run_permissions
from tests.conformance.report import PROPERTY
from tests.stack import Stack

CASES = load_cases()

PURE: dict[str, Callable[[dict[str, Any]], None]] = {
    "interpolation.yaml": pure_cases.run_interpolation,
    "expressions.yaml": pure_cases.run_expression,
    "validation.yaml": pure_cases.run_validation,
    "wait_filters.yaml": pure_cases.run_wait_filter,
    "secrets.yaml": pure_cases.run_secrets,
    "event_filters.yaml": pure_cases.run_event_filter,
    "permissions.yaml": run_permissions,
}

# Whole files whose capability is not built yet.
FILE_SKIPS = {
}

# Cases whose reference behaviour an issue deliberately changed (an issue wins over the reference);
# Tideway's own result for the same input is pinned by the unit test named in the reason.
DIFFERS = {
    "secrets.yaml::redact-substring-in-other-field":
        "issue 14 item 5: a string holding a secret is redacted whole ('REDACTED', not 'Bearer REDACTED'); "
        "tests/unit/test_redaction.py",
    "secrets.yaml::redact-secret-in-object-key":
        "issue 14 item 5: keys are never redacted (the reference rewrote the JSON text); "
        "tests/unit/test_redaction.py",
}

if not CASES:
    pytest.skip("no conformance corpus found (set CONFORMANCE_DIR)", allow_module_level=True)


@pytest.fixture
def tag(record_property: Callable[[str, Any], None], request: pytest.FixtureRequest) -> None:
    record_property(PROPERTY, request.node.callspec.params["case"].file)


# Files run against a stack rather than as pure functions.
STACK_FILES = ("automations.yaml", "workspace_crud.yaml")


@pytest.mark.parametrize("case", [c for c in CASES if c.file not in STACK_FILES], ids=lambda c: c.id)
def test_conformance_pure(case: Case, tag: None) -> None:
    if "skip" in case.data:
        pytest.skip(f"corpus skip: {case.data['skip']}")
    if case.file in FILE_SKIPS:
        pytest.skip(FILE_SKIPS[case.file])
    if case.id in DIFFERS:
        pytest.skip(f"differs by decision: {DIFFERS[case.id]}")
    runner = PURE.get(case.file)
    if runner is None:
        pytest.skip(f"no runner for {case.file}")
    runner({**case.shared, **case.data})


@pytest.mark.parametrize("case", [c for c in CASES if c.file == "automations.yaml"], ids=lambda c: c.id)
async def test_conformance_engine(case: Case, tag: None, sqlite_stack: Stack) -> None:
    if "skip" in case.data:
        pytest.skip(f"corpus skip: {case.data['skip']}")
    reason = skip_reason(case.data, case.shared)
    if reason:
        pytest.skip(reason)
    await run_automation_case(sqlite_stack, case.data, case.shared)


@pytest.mark.parametrize("case", [c for c in CASES if c.file == "workspace_crud.yaml"], ids=lambda c: c.id)
async def test_conformance_crud(case: Case, tag: None, sqlite_stack: Stack) -> None:
    if "skip" in case.data:
        pytest.skip(f"corpus skip: {case.data['skip']}")
    await run_crud_case(sqlite_stack, {**case.shared, **case.data})
