"""Small builders shared by the linter-fixture equivalents (test_linter_correct.py,
test_linter_incorrect.py)."""

from __future__ import annotations

import base64
from typing import Any

from tests.stack import Stack

ROUTE = "/v2/workspaces/import"


def s(name: str, value: Any, **more: Any) -> dict[str, Any]:
    return {"set": {"name": name, "value": value, **more}}


def when(condition: str, *then: Any, default: list[Any] | None = None) -> dict[str, Any]:
    branches: dict[str, Any] = {condition: list(then)}
    if default is not None:
        branches["default"] = default
    return {"conditions": branches}


def loop(on: Any, *do: Any, **more: Any) -> dict[str, Any]:
    return {"repeat": {"on": on, "do": list(do), **more}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def import_document(stack: Stack, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await stack.http.post(ROUTE, json=document, headers=stack.auth)
    return response.status_code, response.json()
