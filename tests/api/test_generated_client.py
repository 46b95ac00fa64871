"""A client generated from ``/openapi.json`` (openapi-python-client, offline) drives the API over
real HTTP: it creates a workspace, imports an automation as a JSON document, adds another, runs
both with ``/test`` and reads a documented error (issue 15, item 4)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from api.app import create_app
from tests.api.helpers import unique_slug
from tests.conformance.http_stub import HttpStub
from tests.stack import ADMIN_TOKEN, Stack

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
GREETER = {"name": "greet", "when": {"endpoint": True},
           "do": [{"set": {"name": "greeting", "value": "Hello {{body.name}}"}}], "output": "{{greeting}}"}


def generate_client(document: dict[str, Any], where: Path) -> str:
    """Generate the client package into ``where`` and return its (unique) module name."""
    name = f"tideway_client_{uuid.uuid4().hex[:8]}"
    spec, config = where / "openapi.json", where / "config.yml"
    spec.write_text(json.dumps(document))
    config.write_text("post_hooks: []\n")  # no formatter run: nothing outside this tree is needed
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--config", str(config),
                           "--meta", "none", "--output-path", str(where / name)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return name


async def test_a_generated_client_creates_imports_and_tests(stack: Stack, tmp_path: Path) -> None:
    app = create_app(stack.services)
    package = generate_client(app.openapi(), tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        def load(module: str) -> Any:
            return importlib.import_module(f"{package}.{module}")

        client_module, models = load("client"), load("models")
        create_workspace, reimport_workspace, list_workspaces = (
            load(f"api.workspaces.{name}") for name in ("create_workspace", "reimport_workspace", "list_workspaces"))
        create_automation, test_automation = load("api.automations.create_automation"), load("api.runs.test_automation")
    finally:
        sys.path.remove(str(tmp_path))

    async with HttpStub([], app=app) as server:
        async with client_module.AuthenticatedClient(base_url=server.url, token=ADMIN_TOKEN) as client:
            slug = unique_slug()
            created = await create_workspace.asyncio(
                client=client, body=models.WorkspaceDocument.from_dict({"name": "Generated", "slug": slug}))
            assert isinstance(created, models.WorkspaceDetail), created
            assert created.slug == slug and created.revision == 1

            imported = await reimport_workspace.asyncio(created.id, client=client, body=models.WorkspaceDocument.from_dict(
                {"name": "Generated", "slug": slug, "automations": {"greet": GREETER}}))
            assert isinstance(imported, models.ImportResult), imported
            assert imported.changed is True and imported.warnings == []
            assert imported.workspace.revision == 2
            assert "greet" in imported.workspace.automations.additional_properties

            added = await create_automation.asyncio(created.id, client=client, body=models.AutomationBody.from_dict(
                {"name": "shout", "do": [], "output": "{{word}}!"}))
            assert isinstance(added, models.SavedAutomation), added
            assert added.slug == "shout" and added.warnings == []

            greeted = await test_automation.asyncio(created.id, "greet", client=client,
                                                    body=models.TestBody.from_dict({"payload": {"body": {"name": "Ada"}}}))
            assert greeted == "Hello Ada"
            shouted = await test_automation.asyncio(created.id, "shout", client=client,
                                                    body=models.TestBody.from_dict({"payload": {"word": "hey"}}))
            assert shouted == "hey!"

            missing = await test_automation.asyncio(created.id, "nope", client=client,
                                                    body=models.TestBody.from_dict({"payload": {}}))
            assert isinstance(missing, models.ErrorBody) and missing.error == "ObjectNotFoundError", missing

            listed = await list_workspaces.asyncio(client=client, slug=slug)
            assert [w.id for w in listed] == [created.id]
            assert all(isinstance(w, models.WorkspaceSummary) for w in listed)
