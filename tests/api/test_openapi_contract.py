"""``/openapi.json`` describes every management route's request and response (issue 15, item 4),
and what the routes answer agrees with it: the models' examples are accepted, errors have the
documented shape, writes answer ``warnings``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from api.app import create_app
from api.bodies import BodyReader, FormBody, WebhookBody
from api.permissions import Public, api_routes, declared_access
from schemas.api.automations import AutomationBody
from schemas.api.common import ErrorBody
from schemas.api.runs import TestBody
from schemas.api.security import ApiKeyBody, SecurityDocument
from schemas.api.versions import VersionBody
from schemas.api.workspaces import WorkspaceDocument, WorkspacePatch
from tests.api.helpers import unique_slug
from tests.stack import Stack

# Not management routes (docs/api.md, "Exclusions"): webhooks take raw bodies and answer what the
# automation says; the event stream is Server-Sent Events; the codec speaks Temporal's protocol;
# pages, the Activity view and the install form answer HTML.
EXCLUDED = ("/webhooks/", "/events/stream", "/codec/", "/pages/", "/activity", "/apps/install/")
# Answers that are any JSON value by design: an automation's output, an instance's config value.
ANY_JSON = {"test_automation", "get_app_config", "rerun_workspace_run"}  # answer an automation's output


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(None).openapi()  # type: ignore[arg-type]


def management_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()
            if not any(part in path for part in EXCLUDED)]


def body_reader(route: APIRoute) -> BodyReader | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, BodyReader):
            return dependency.call
        pending.extend(dependency.dependencies)
    return None


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


def test_every_management_response_is_described(document: dict[str, Any]) -> None:
    operations = management_operations(document)
    assert len(operations) >= 55
    vague = []
    for method, path, op in operations:
        content = op["responses"]["200"].get("content", {})
        schema = next(iter(content.values()), {}).get("schema", {})
        if op["operationId"] in ANY_JSON:
            continue
        if not schema or schema == {"type": "object"} or (
                schema.get("type") == "object" and not schema.get("properties") and not schema.get("additionalProperties")):
            vague.append(f"{method.upper()} {path}")
    assert vague == []


def test_every_body_is_described_by_its_model(document: dict[str, Any]) -> None:
    app = create_app(None)  # type: ignore[arg-type]
    checked = 0
    for route in api_routes(app.routes):
        reader = body_reader(route)
        if reader is None or not route.include_in_schema or isinstance(reader, WebhookBody | FormBody):
            continue
        if any(part in route.path for part in EXCLUDED):
            continue
        for method in route.methods or ():
            op = document["paths"][route.path_format][method.lower()]
            schema = resolve(document, op["requestBody"]["content"]["application/json"]["schema"])
            assert {"properties", "additionalProperties", "patternProperties"} & set(schema), (method, route.path)
            checked += 1
    assert checked >= 20


def test_errors_are_documented_as_the_error_body(document: dict[str, Any]) -> None:
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    app = create_app(None)  # type: ignore[arg-type]
    access = {(m.lower(), r.path_format): declared_access(r) for r in api_routes(app.routes) for m in r.methods or ()}
    for method, path, op in management_operations(document):
        assert "422" not in op["responses"], (method, path)  # parameter errors are 400s (api/errors.py)
        for status, response in op["responses"].items():
            if status.startswith("4"):
                assert response["content"]["application/json"]["schema"] == error_ref, (method, path, status)
        if not isinstance(access[(method, path)], Public):
            assert {"401", "403"} & set(op["responses"]), (method, path)
            assert op["security"], (method, path)
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "apiKey"}
    assert document["components"]["schemas"]["ErrorBody"]["examples"]


async def test_the_models_examples_are_accepted(stack: Stack) -> None:
    """Each main request model's first example, sent as it is, is a 200: the documentation and
    the validation agree."""
    def example(model: Any) -> dict[str, Any]:
        value: dict[str, Any] = model.model_config["json_schema_extra"]["examples"][0]
        return dict(value)

    created = await stack.http.post("/v2/workspaces/import", json={**example(WorkspaceDocument),
                                                                   "slug": unique_slug()}, headers=stack.auth)
    assert created.status_code == 200, created.text
    assert created.json()["warnings"] == []
    base = f"/v2/workspaces/{created.json()['workspace']['id']}"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", base, example(WorkspacePatch)),
        ("POST", f"{base}/automations", {**example(AutomationBody), "slug": "hello-again"}),
        ("POST", f"{base}/test/hello", example(TestBody)),
        ("POST", f"{base}/versions", example(VersionBody)),
        ("POST", f"{base}/security/apikeys", example(ApiKeyBody)),
        ("PUT", f"{base}/security", example(SecurityDocument)),
    ]
    for method, path, body in calls:
        response = await stack.http.request(method, path, json=body, headers=stack.auth)
        assert response.status_code == 200, (method, path, response.text)
    saved = await stack.http.patch(f"{base}/automations/hello", json=example(AutomationBody), headers=stack.auth)
    assert saved.status_code == 200 and saved.json()["warnings"] == [] and saved.json()["slug"] == "hello"
    ran = await stack.http.post(f"{base}/test/hello", json=example(TestBody), headers=stack.auth)
    assert ran.json() == "Hello Ada"


async def test_error_answers_have_the_documented_shape(stack: Stack) -> None:
    answers = [
        await stack.http.get("/v2/workspaces/nope", headers=stack.auth),  # 404
        await stack.http.get("/v2/workspaces/nope"),  # 401
        await stack.http.post("/v2/workspaces", json=[], headers=stack.auth),  # 400
        await stack.http.get("/v2/apps?page=x", headers=stack.auth),  # 400 (a query parameter)
    ]
    assert [a.status_code for a in answers] == [404, 401, 400, 400]
    for answer in answers:
        ErrorBody.model_validate(answer.json())
