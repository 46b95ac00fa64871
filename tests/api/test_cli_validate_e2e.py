"""``tideway validate`` (issue 21): offline, it reports the problems ``POST /v2/workspaces/import``
reports, on a set of broken workspaces — errors where the import refuses, warnings where it
accepts. The comparison calls the checks ``validate`` runs in this process (the cases are many);
the command itself runs as a subprocess for its output, its exit codes and ``--json``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from cli.offline_checks import check_folder
from cli.workspace_folder import zip_workspace
from tests.api.test_cli_workspace_e2e import tideway, write
from tests.stack import Stack

APP = f"greeter-{uuid.uuid4().hex[:6]}"  # published on the stack, and vendored in the folders that use it
VENDORED = {f"apps/{APP}/index.yml": "name: Greeter\nconfig:\n  schema:\n    lang: {type: string}\n",
            f"apps/{APP}/automations/hello.yml": "name: hello\ndo: []\noutput: hi\n"}
CALLS = "name: calls\ndo:\n  - greet.hello: {}\n  - greet.helo: {}\n"

# name → the workspace's files besides index.yml. Each fails in one stage of the import (files,
# definition checks, app instances), since the import stops at the first stage that fails.
CASES: dict[str, dict[str, str]] = {
    "shapes": {"automations/a.yml": "name: a\ndo:\n  - fetch:\n      url: 3\n  - set: {name: 1}\n",
               "automations/no-do.yml": "name: no do\n"},
    "expressions": {"automations/a.yml": "name: a\ndo:\n  - conditions:\n      '{{x}} ==== 1': []\n"
                                         "      default: []\noutput: '{{x'\n"},
    "schedule": {"automations/a.yml": "name: a\nwhen:\n  schedules: ['* * * *']\ndo: []\n"},
    "endpoints": {"automations/a.yml": "name: a\nwhen: {endpoint: hook}\ndo: []\n",
                  "automations/b.yml": "name: b\nwhen: {endpoint: hook}\ndo: []\n"},
    "listener": {"automations/a.yml": "name: a\nwhen:\n  events: [runtime.automations.executed]\ndo: []\n"},
    "index": {"index.yml": "description: no name\nslug: Not A Slug\n"},
    "custom code": {"imports/code.yml": "appSlug: Custom Code\nconfig:\n  functions:\n"
                                        "    broken: {code: 'return (;'}\n    py: {code: 'return 1', language: python}\n"},
    "instance config": {"imports/code.yml": "appSlug: Custom Code\nconfig:\n  functions:\n"
                                            "    f: {code: 'return 1;', parameters: nope}\n"},
    "vendored config": {**VENDORED, "imports/greet.yml": f"appSlug: {APP}\nconfig: {{lang: 3}}\n"},
    "strict": {"index.yml": "name: Strict\nstrict: true\n", "automations/a.yml": "name: a\ndo:\n  - nowhere: {}\n"},
    "yaml syntax": {"automations/a.yml": "name: a\ndo: [\n", "imports/b.yml": "- a list\n"},
    "misplaced": {"hello.yml": "name: hello\ndo: []\n"},
    "warnings": {"automations/a.yml": "name: a\ndo:\n  - emit: {event: e, payloud: 1}\n  - nowhere: {}\n"
                                      "  - Custom Code.nope: {}\n  - code.nope: {}\n  - crm.find: {}\n",
                 "automations/emit.yml": "name: emit\ndo: []\n",
                 "imports/code.yml": "appSlug: Custom Code\n"},
    "vendored calls": {**VENDORED, "imports/greet.yml": f"appSlug: {APP}\nconfig: {{lang: fr}}\n",
                       "automations/calls.yml": CALLS},
}


def folder_of(tmp_path: Path, name: str) -> Path:
    return write(tmp_path / name.replace(" ", "-"), {"index.yml": f"name: {name}\n", **CASES[name]})


async def import_problems(stack: Stack, folder: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(errors, warnings) the import answers for the folder as push sends it."""
    response = await stack.http.post("/v2/workspaces/import", content=zip_workspace(folder),
                                     headers={**stack.auth, "content-type": "application/zip"})
    body: dict[str, Any] = response.json()
    if response.status_code == 400:
        return {(d["path"], d["message"]) for d in body["details"]}, set()
    assert response.status_code == 200, response.text
    return set(), {(w["path"], w["message"]) for w in body["warnings"]}


@pytest.fixture(scope="module")
async def published_app(sqlite_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The vendored app, published on the stack under the folder's name."""
    source = write(tmp_path_factory.mktemp("app"), {k.split("/", 2)[2]: v for k, v in VENDORED.items()})
    response = await sqlite_stack.http.post("/v2/workspaces/import", content=zip_workspace(source),
                                            headers={**sqlite_stack.auth, "content-type": "application/zip"})
    assert response.status_code == 200, response.text
    published = await sqlite_stack.http.post("/v2/apps", headers=sqlite_stack.auth,
                                             json={"workspaceId": response.json()["workspace"]["id"], "slug": APP})
    assert published.status_code == 200, published.text
    return APP


@pytest.mark.parametrize("name", sorted(CASES))
async def test_validate_reports_what_the_import_reports(sqlite_stack: Stack, published_app: str, tmp_path: Path,
                                                        name: str) -> None:
    from core.infra.settings import get_settings

    folder = folder_of(tmp_path, name)
    errors, warnings = await import_problems(sqlite_stack, folder)
    found = await check_folder(folder, get_settings())
    offline_errors = {(f.path, f.message) for f in found if f.severity == "error"}
    offline_warnings = {(f.path, f.message) for f in found if f.severity == "warning"}
    assert offline_errors == errors
    assert offline_warnings == warnings  # none when there are errors: the import answers them once valid
    assert errors or warnings, "each case has something to report"


async def test_offline_only_warnings_for_apps_not_available(tmp_path: Path) -> None:
    from core.infra.settings import get_settings

    folder = write(tmp_path / "ws", {"index.yml": "name: ws\n", "imports/crm.yml": "appSlug: Salesforce CRM\n",
                                     "automations/a.yml": "name: a\ndo:\n  - crm.find: {}\n"})
    found = await check_folder(folder, get_settings())
    assert [(f.path, f.severity) for f in found] == [("imports/crm.yml: appSlug", "warning"),
                                                     ("automations/a.yml: do[0][\"crm.find\"]", "warning")]
    assert "not checked offline" in found[0].message and "not available offline" in found[1].message


async def test_the_command_exit_codes_format_and_json(tmp_path: Path) -> None:
    broken = folder_of(tmp_path, "shapes")
    text = await tideway("validate", str(broken), home=tmp_path, token=None)
    assert text.code == 1, text
    assert f"{broken}/automations/a.yml:4:7: error: do[0].fetch.url: must be a string" in text.out.splitlines()
    assert text.out.splitlines()[-1] == f"{broken}: invalid (4 errors, 0 warnings)", text.out
    warned = folder_of(tmp_path, "warnings")
    as_json = await tideway("validate", str(warned), "--json", home=tmp_path, token=None)
    assert as_json.code == 0, as_json
    body = as_json.json()
    assert body["valid"] is True and body["errors"] == 0 and body["warnings"] == len(body["problems"]) >= 4
    first = body["problems"][0]
    assert first["file"] == f"{warned}/automations/a.yml" and first["severity"] == "warning"
    assert (first["line"], first["column"], first["path"]) == (3, 22, "do[0].emit.payloud"), first
    valid = await tideway("validate", "examples/hello", home=tmp_path, token=None)
    assert valid.code == 0 and valid.out.strip() == "examples/hello: valid (0 errors, 0 warnings)", valid
