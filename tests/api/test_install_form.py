"""The HTML install form generated from an app's config.schema (both databases)."""

from __future__ import annotations

import re
from typing import Any

from tests.api.helpers import unique_slug, workspace_doc
from tests.api.test_apps_api import of_type, wait_events
from tests.stack import Stack

SCHEMA = {
    "apiUrl": {"type": "string", "title": "API URL", "description": "Where the service listens"},
    "token": {"type": "string", "secret": True},
    "notes": {"type": "string", "ui:widget": "textarea"},
    "retries": {"type": "integer", "default": 3},
    "ratio": {"type": "number"},
    "verbose": {"type": "boolean", "default": True},
    "mode": {"type": "string", "enum": ["fast", "safe"]},
    "server": {"type": "object", "title": "Server", "required": ["host"],
               "properties": {"host": {"type": "string"}, "port": {"type": "integer"}}},
    "tags": {"type": "array", "items": {"type": "string"}},
    "features": {"type": "array", "items": {"type": "string", "enum": ["search", "export"]}},
    "extra": {"type": "object"},
}
FORM = "application/x-www-form-urlencoded"


async def _app(stack: Stack) -> str:
    doc = workspace_doc({"noop": {"name": "noop", "do": []}}, description="Configurable",
                        photo="https://example.test/p.png", config={"schema": SCHEMA, "value": {}})
    source = await stack.import_workspace(doc)
    slug = unique_slug("formapp")
    published = await stack.http.post("/v2/apps", json={"workspaceId": source["id"], "slug": slug},
                                      headers=stack.auth)
    assert published.status_code == 200, published.text
    return slug


async def _setup(stack: Stack) -> tuple[str, str]:
    app = await _app(stack)
    ws = await stack.import_workspace(workspace_doc({}))
    return ws["id"], f"/v2/workspaces/{ws['id']}/apps/install/{app}"


def _post(stack: Stack, url: str, fields: list[tuple[str, str]], **headers: str) -> Any:
    from urllib.parse import urlencode

    return stack.http.post(url, content=urlencode(fields), headers={**stack.auth, "content-type": FORM, **headers})


def _field_error(text: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(name)}-error">([^<]*)</p>', text)
    assert found, (name, text)
    return found.group(1)


async def test_form_is_generated_from_the_config_schema(stack: Stack) -> None:
    ws, url = await _setup(stack)
    response = await stack.http.get(url, headers=stack.auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    app = url.rsplit("/", 1)[1]
    assert f'name="slug" id="slug" value="{app}"' in text  # a free instance slug is proposed
    assert '<label for="config.apiUrl">API URL</label><small>Where the service listens</small>' in text
    assert '<input type="text" name="config.apiUrl"' in text
    assert '<input type="password" name="config.token"' in text
    assert '<textarea name="config.notes"' in text
    assert '<input type="number" step="1" name="config.retries" id="config.retries" value="3">' in text
    assert '<input type="number" step="any" name="config.ratio"' in text
    assert '<input type="checkbox" name="config.verbose" id="config.verbose" value="true" checked>' in text
    assert '<option value="fast">fast</option><option value="safe">safe</option>' in text
    assert "<fieldset><legend>Server</legend>" in text and 'name="config.server.host"' in text
    assert "host *" in text  # required inside the object
    assert '<textarea name="config.tags"' in text
    assert 'name="config.features" value="search"' in text and 'name="config.features" value="export"' in text
    assert '<textarea name="config.extra"' in text
    assert (await stack.http.get(url)).status_code == 401
    missing = await stack.http.get(f"/v2/workspaces/{ws}/apps/install/{unique_slug('ghost')}", headers=stack.auth)
    assert missing.status_code == 404 and "not found" in missing.text


async def test_submitting_the_form_installs_a_typed_config(stack: Stack) -> None:
    ws, url = await _setup(stack)
    fields = [("slug", "tools"), ("config.apiUrl", "https://api.test"), ("config.token", "s3cret"),
              ("config.notes", ""), ("config.retries", "5"), ("config.ratio", "0.5"),
              ("config.verbose", "false"), ("config.mode", "safe"), ("config.server.host", "db.local"),
              ("config.server.port", "5432"), ("config.tags", "a\n b \n\n"), ("config.features", ""),
              ("config.features", "export"), ("config.extra", '{"k": [1, 2]}')]
    response = await _post(stack, url, fields)
    assert response.status_code == 200, response.text
    assert "installed" in response.text and "<code>tools</code>" in response.text
    config = (await stack.http.get(f"/v2/workspaces/{ws}/apps/tools/config", headers=stack.auth)).json()
    # The secret field moved to the workspace's secrets (docs/apps.md, "Secret config fields").
    assert config == {"apiUrl": "https://api.test", "token": "{{secret.app_tools_token}}", "retries": 5, "ratio": 0.5,
                      "verbose": False, "mode": "safe", "server": {"host": "db.local", "port": 5432},
                      "tags": ["a", "b"], "features": ["export"], "extra": {"k": [1, 2]}}
    # The same install event as the JSON route.
    # (a triggering native event: written by its dispatch workflow, so possibly a moment later)
    events = await wait_events(stack, ws, lambda evs: bool(of_type(evs, "workspaces.apps.installed")))
    events = of_type(events, "workspaces.apps.installed")
    assert events and events[0]["payload"]["slug"] == "tools"
    assert events[0]["payload"]["appInstance"]["config"]["token"] == "REDACTED"  # declared secret


async def test_field_errors_are_shown_next_to_the_fields(stack: Stack) -> None:
    ws, url = await _setup(stack)
    # Unreadable values are caught before installing...
    local = await _post(stack, url, [("slug", "bad"), ("config.retries", "2.5"), ("config.ratio", "lots"),
                                     ("config.extra", "{nope"), ("config.apiUrl", "kept <as typed>")])
    assert local.status_code == 400, local.text
    assert _field_error(local.text, "config.retries") == "must be an integer"
    assert _field_error(local.text, "config.ratio") == "must be a number"
    assert _field_error(local.text, "config.extra") == "must be valid JSON"
    assert 'value="kept &lt;as typed&gt;"' in local.text  # the form comes back with what was typed
    # ...the rest by the app's config.schema, through the same check as the JSON install route.
    checked = await _post(stack, url, [("slug", "bad"), ("config.mode", "slow"), ("config.server.port", "80")])
    assert checked.status_code == 400, checked.text
    assert "is not one of" in _field_error(checked.text, "config.mode")
    assert _field_error(checked.text, "config.server.host") == "required"
    assert '<option value="slow"' not in checked.text
    assert (await stack.http.get(f"/v2/workspaces/{ws}/apps/bad", headers=stack.auth)).status_code == 404
    # Instance slug problems go next to the slug.
    assert (await _post(stack, url, [("slug", "one")])).status_code == 200
    again = await _post(stack, url, [("slug", "one")])
    assert again.status_code == 400 and "already used" in again.text
    dotted = await _post(stack, url, [("slug", "a.b")])
    assert dotted.status_code == 400 and "a.b" in dotted.text
    empty = await _post(stack, url, [("slug", " ")])
    assert empty.status_code == 400 and "required" in empty.text
    # The next form proposes a free slug, and a JSON body is refused with a readable page.
    assert f'value="{url.rsplit("/", 1)[1]}"' in (await stack.http.get(url, headers=stack.auth)).text
    wrong = await stack.http.post(url, json={"slug": "x"}, headers=stack.auth)
    assert wrong.status_code == 400 and "x-www-form-urlencoded" in wrong.text
