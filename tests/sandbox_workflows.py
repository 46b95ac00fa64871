"""Two tiny workflows for tests/unit/test_sandbox.py: one using the ground floor (allowed), one
importing the database layer (refused by Tideway's workflow sandbox)."""

from __future__ import annotations

import importlib

from temporalio import workflow


@workflow.defn(name="GroundFloorWorkflow")
class GroundFloorWorkflow:
    @workflow.run
    async def run(self, expression: str) -> str:
        language = importlib.import_module("language")
        return str(language.evaluate(expression, {"a": 2}))


@workflow.defn(name="ForbiddenImportWorkflow")
class ForbiddenImportWorkflow:
    @workflow.run
    async def run(self, module: str) -> str:
        importlib.import_module(module)
        return "imported"
