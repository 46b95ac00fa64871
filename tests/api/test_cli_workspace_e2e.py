"""``tideway push|pull|diff`` end to end (issue 21): the CLI as a subprocess against the real stack
served on a loopback port. push → pull → push round-trips with no change to the folder's bytes,
for the example workspaces and for a workspace using every section; pull never touches tests/."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser import live_server
from tests.stack import ADMIN_TOKEN, Stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def tideway(*argv: str, home: Path, token: str | None = ADMIN_TOKEN, **env: str) -> Result:
    """``tideway <argv>`` in a subprocess with its own HOME (no profile of the machine's user).
    Without blocking: the live server runs in this event loop."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith("TIDEWAY_") and key not in ("XDG_CONFIG_HOME", "NO_COLOR")}
    environ.update(HOME=str(home), PYTHONIOENCODING="utf-8", **env)
    if token is not None:
        environ["TIDEWAY_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *argv, cwd=ROOT, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 180)
    result = Result(process.returncode if process.returncode is not None else -1,
                    out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    assert "Traceback" not in result.err, result.err
    return result


@pytest.fixture(scope="module")
async def api(sqlite_stack: Stack) -> AsyncIterator[str]:
    async with live_server(sqlite_stack) as url:
        yield url


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "index.yml").exists()))
async def test_examples_round_trip_without_a_diff(api: str, tmp_path: Path, example: str) -> None:
    folder = tmp_path / example
    shutil.copytree(EXAMPLES / example, folder)
    index = (folder / "index.yml").read_text()
    slug = unique(example)
    (folder / "index.yml").write_text(index.replace(f"slug: {example}", f"slug: {slug}"))  # one per test run
    before = snapshot(folder)

    pushed = await tideway("push", str(folder), "--url", api, "--json", home=tmp_path)
    assert pushed.code == 0, pushed
    body = pushed.json()
    assert body["pushed"] and body["created"] and body["workspace"]["slug"] == slug, body
    assert body["changes"]["automations"]["added"] == sorted(p.stem for p in (folder / "automations").glob("*.yml"))

    pulled = await tideway("pull", slug, str(folder), "--url", api, "--json", home=tmp_path)
    assert pulled.code == 0, pulled
    assert pulled.json()["written"] == [] and pulled.json()["removed"] == [], pulled.out
    assert snapshot(folder) == before  # `git diff` of the folder: empty

    again = await tideway("push", str(folder), "--url", api, home=tmp_path)
    assert again.code == 0 and "0 added, 0 changed, 0 removed" in again.out and "nothing to push" in again.out, again
    same = await tideway("diff", str(folder), "--url", api, "--exit-code", home=tmp_path)
    assert same.code == 0, same

    fresh = tmp_path / "fresh"  # a pull into an empty folder, pushed back: nothing changes
    assert (await tideway("pull", f"slug:{slug}", str(fresh), "--url", api, home=tmp_path)).code == 0
    assert (await tideway("diff", str(fresh), "--url", api, "--exit-code", home=tmp_path)).code == 0
    stable = snapshot(fresh)
    assert (await tideway("pull", slug, str(fresh), "--url", api, home=tmp_path)).code == 0
    assert snapshot(fresh) == stable


def every_section(slug: str) -> dict[str, str]:
    """A workspace with root fields, security, automations (endpoint, listener, Custom Code call),
    an app instance and a page; hand formatted (flow mappings, comments, quoting)."""
    return {
        "index.yml": f"# the root fields\nname: Every section\nslug: {slug}\ndescription: {{en: All of it, fr: Tout}}\n"
                     "config:\n  value: {greeting: Hi}\nlabels: [cli, e2e]\n",
        "security.yml": "authorizations:\n  roles:\n    editor: {}\n    reader: {}\n  rules:\n"
                        "    - {role: editor, action: manage, subject: workspaces}\n"
                        "    - {role: reader, action: read, subject: pages}\n",
        "automations/greet.yml": "name: greet\nwhen: {endpoint: true}\ndo:\n  - tools.run:\n"
                                 "      function: shout\n      parameters: {text: '{{body.text}}'}\n      output: loud\n"
                                 "  - emit: {event: greeted, payload: {loud: '{{loud}}'}}\noutput: '{{loud}}'\n",
        "automations/audit.yml": "name: audit\nwhen:\n  events: [greeted]\ndo: []\n",
        "automations/nested/deep.yml": "name: deep\ndo:\n  - set: {name: x, value: 1}\noutput: \"{{x}}\"\n",
        "imports/tools.yml": "appSlug: Custom Code\nslug: tools\nconfig:\n  functions:\n    shout:\n"
                             "      parameters: {text: {type: string}}\n      code: return text.toUpperCase();\n",
        "pages/home.yml": "name: Home\ntemplate: |\n  <h1>{{ page.name }}</h1>\npublic: true\n",
        "tests/greet.yml": "cases: []  # the automation tests: never pushed, never pulled\n",
        "apps/vendored/index.yml": "name: Vendored\n",
    }


async def test_a_workspace_using_every_section(api: str, sqlite_stack: Stack, tmp_path: Path) -> None:
    slug = unique("every")
    folder = write(tmp_path / "ws", every_section(slug))
    before = snapshot(folder)
    pushed = await tideway("push", str(folder), "--workspace", slug, "--url", api, home=tmp_path)
    assert pushed.code == 0, pushed
    lines = pushed.out.splitlines()
    for expected in ("  + index.yml", "  + security.yml", "  + automations/nested/deep.yml", "  + imports/tools.yml",
                     "  + pages/home.yml"):
        assert expected in lines, pushed.out
    assert lines[-1].startswith(f"created workspace '{slug}' (") and lines[-1].endswith("revision 1"), pushed.out
    pulled = await tideway("pull", slug, str(folder), "--url", api, "--json", home=tmp_path)
    assert pulled.code == 0 and pulled.json()["written"] == [], pulled
    assert snapshot(folder) == before
    assert (await tideway("push", str(folder), "--url", api, "--json", home=tmp_path)).json()["pushed"] is False

    # Local edits: diff and a dry run show them, nothing is stored until the push.
    (folder / "automations/audit.yml").unlink()
    (folder / "pages/home.yml").unlink()
    write(folder, {"automations/added.yml": "name: added\ndo: []\n",
                   "automations/nested/deep.yml": "name: deep\ndo: []\noutput: 2\n"})
    diff = await tideway("diff", str(folder), "--url", api, "--exit-code", home=tmp_path)
    assert diff.code == 1, diff
    for expected in ("  + automations/added.yml", "  ~ automations/nested/deep.yml", "  - automations/audit.yml",
                     "  - pages/home.yml", "+output: 2", "-  - set:"):
        assert expected in diff.out.splitlines() or expected in diff.out, diff.out
    as_json = (await tideway("diff", str(folder), "--url", api, "--json", home=tmp_path)).json()
    assert as_json["changes"]["count"] == 4 and "+output: 2" in as_json["patch"].splitlines(), as_json
    dry = await tideway("push", str(folder), "--dry-run", "--url", api, "--json", home=tmp_path)
    assert dry.code == 0 and dry.json()["pushed"] is False and dry.json()["changes"]["count"] == 4, dry
    kept = await tideway("push", str(folder), "--no-prune", "--url", api, "--json", home=tmp_path)
    assert kept.code == 0 and kept.json()["changes"]["automations"]["kept"] == ["audit"], kept
    ws = kept.json()["workspace"]["id"]
    stored = (await sqlite_stack.http.get(f"/v2/workspaces/{ws}", headers=sqlite_stack.auth)).json()
    assert {"added", "audit"} <= set(stored["automations"])
    pruned = await tideway("push", str(folder), "--url", api, "--json", home=tmp_path)
    assert pruned.json()["changes"]["automations"]["removed"] == ["audit"], pruned.out
    assert pruned.json()["changes"]["pages"]["removed"] == ["home"], pruned.out

    # Server-side changes pulled: one rewritten file, one removed (pushed from another clone),
    # tests/ and apps/ untouched.
    patched = await sqlite_stack.http.patch(f"/v2/workspaces/{ws}/automations/added", headers=sqlite_stack.auth,
                                            json={"name": "added", "description": "from the API", "do": []})
    assert patched.status_code == 200, patched.text
    clone = tmp_path / "clone"
    shutil.copytree(folder, clone)
    (clone / "automations/nested/deep.yml").unlink()
    render_added = "name: added\ndescription: from the API\ndo: []\n"
    (clone / "automations/added.yml").write_text(render_added)
    assert (await tideway("push", str(clone), "--url", api, home=tmp_path)).code == 0
    pulled = await tideway("pull", ws, str(folder), "--url", api, home=tmp_path)
    assert pulled.code == 0, pulled
    assert "  + automations/added.yml" in pulled.out and "  - automations/nested/deep.yml" in pulled.out, pulled.out
    assert (folder / "automations/added.yml").read_text() == render_added
    assert not (folder / "automations/nested").exists()
    assert (folder / "tests/greet.yml").read_bytes() == before["tests/greet.yml"]
    assert (folder / "apps/vendored/index.yml").exists()


async def test_errors_and_exit_codes(api: str, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken", {"index.yml": f"name: Broken\nslug: {unique('broken')}\n",
                                         "automations/a.yml": "name: a\ndo:\n  - fetch:\n      url: 3\n"})
    refused = await tideway("push", str(broken), "--url", api, home=tmp_path)
    assert refused.code == 1 and refused.err.startswith("error: InvalidWorkspaceError: "), refused
    assert f"{broken}/automations/a.yml:4:7: error: do[0].fetch.url: must be a string" in refused.err.splitlines()
    unreadable = write(tmp_path / "unreadable", {"index.yml": "name: [unclosed\n"})
    local = await tideway("push", str(unreadable), "--url", api, home=tmp_path)
    assert local.code == 1 and local.err.startswith("error: InvalidWorkspaceError: "), local
    assert any(line.startswith(f"{unreadable}/index.yml:2:1: error: ") for line in local.err.splitlines()), local.err
    missing = await tideway("pull", "no-such-workspace", str(tmp_path / "out"), "--url", api, home=tmp_path)
    assert missing.code == 1 and missing.err.startswith("error: ObjectNotFoundError: no workspace"), missing
    other = await tideway("push", str(broken), "--workspace", "elsewhere", "--url", api, home=tmp_path)
    assert other.code == 1 and "set `slug: elsewhere` in index.yml" in other.err, other
    stranger = await tideway("pull", "x", str(tmp_path / "out"), "--url", api, token="not-a-token", home=tmp_path)
    assert stranger.code == 1 and stranger.err.startswith("error: "), stranger
    usage = await tideway("push", str(tmp_path / "absent"), home=tmp_path)
    assert usage.code == 2, usage  # Click's usage error: the folder does not exist
