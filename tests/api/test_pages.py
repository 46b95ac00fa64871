"""Pages: sandboxed Jinja2 templates fed by an automation, access rules, custom domains, blocks
pages and the sandbox's refusals (both databases)."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import pytest
import yaml

from tests.api.helpers import make_user, make_zip, unique_slug, workspace_doc
from tests.stack import Stack

STATS = {"name": "stats", "do": [], "output": {
    "greeting": "Hello {{query.name}}", "items": ["one", "two", "<three>"], "page": "{{page}}"}}
REPORT = ("<h1>{{ page.name }}</h1>\n<p>{{ data.greeting }}</p>\n"
          "<ul>{% for item in data['items'] %}<li>{{ item }}</li>{% endfor %}</ul>\n"
          "<footer>{{ workspace.slug }} / {{ workspace.name }} / {{ query.name }} / {{ data.page }}</footer>")
LEAKS = ("Traceback", "<class '", "built-in", "<module", "site-packages", "jinja2/", "__builtins__")


def _pages_doc(pages: dict[str, Any], automations: dict[str, Any] | None = None, **index: Any) -> dict[str, Any]:
    return {**workspace_doc(automations or {}, **index), "pages": pages}


def _html(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    text: str = response.text
    assert not any(leak in text for leak in LEAKS), text
    return text


async def test_public_page_renders_automation_data_for_anyone(stack: Stack) -> None:
    doc = _pages_doc({"report": {"name": "Weekly report", "template": REPORT, "automation": "stats",
                                 "public": True}}, {"stats": STATS}, name="Pages demo")
    ws = await stack.import_workspace(doc)
    response = await stack.http.get(f"/pages/{ws['slug']}/report", params={"name": "<b>Ada</b>"})
    text = _html(response, 200)
    assert "<h1>Weekly report</h1>" in text
    assert "<p>Hello &lt;b&gt;Ada&lt;/b&gt;</p>" in text  # autoescaped, never raw HTML from data
    assert "<li>one</li><li>two</li><li>&lt;three&gt;</li>" in text
    assert f"<footer>{ws['slug']} / Pages demo / &lt;b&gt;Ada&lt;/b&gt; / report</footer>" in text
    # The run is a real automation run of the workspace (its event is in the feed).
    events = await stack.events(ws["id"], types="runtime.automations.executed")
    assert any(e["payload"]["slug"] == "stats" for e in events)
    missing = await stack.http.get(f"/pages/{ws['slug']}/nope")
    assert "There is no page" in _html(missing, 404)
    assert (await stack.http.get(f"/pages/{unique_slug()}/report")).status_code == 404


async def test_private_page_needs_a_role_on_the_workspace(stack: Stack) -> None:
    owner, stranger, editor = [await make_user(stack, n) for n in ("owner", "stranger", "editor")]
    doc = _pages_doc({"inside": {"name": "Inside", "template": "<p>secret {{ workspace.slug }}</p>"},
                      "open": {"name": "Open", "template": "<p>open</p>", "public": True}})
    created = await stack.http.post("/v2/workspaces/import", json=doc, headers={"authorization": owner["authorization"]})
    assert created.status_code == 200, created.text
    path = f"/pages/{doc['slug']}/inside"
    assert "sign in" in _html(await stack.http.get(path), 401)
    assert (await stack.http.get(path)).headers["www-authenticate"] == "Bearer"
    assert "may not see" in _html(await stack.http.get(path, headers={"authorization": stranger["authorization"]}), 403)
    anonymous = (await stack.http.post("/v2/login/anonymous")).json()
    assert (await stack.http.get(path, headers={"authorization": f"Bearer {anonymous['token']}"})).status_code == 403
    assert (await stack.http.get(path, headers={"authorization": "Bearer forged"})).status_code == 401
    shown = await stack.http.get(path, headers=stack.auth)
    assert f"<p>secret {doc['slug']}</p>" in _html(shown, 200)
    assert shown.headers["cache-control"] == "private, no-store"
    assert _html(await stack.http.get(path, headers={"authorization": owner["authorization"]}), 200)
    # A role on the workspace opens it (editor: read pages in the initial security.yml).
    shared = await stack.http.post(f"/v2/workspaces/{created.json()['workspace']['id']}/permissions",
                                   json={"target": {"id": editor["id"]}, "permissions": {"role": "editor"}},
                                   headers={"authorization": owner["authorization"]})
    assert shared.status_code == 200, shared.text
    assert _html(await stack.http.get(path, headers={"authorization": editor["authorization"]}), 200)
    # A public page is open to the stranger and to nobody at all.
    assert "open" in _html(await stack.http.get(f"/pages/{doc['slug']}/open"), 200)
    assert _html(await stack.http.get(f"/pages/{doc['slug']}/open",
                                      headers={"authorization": stranger["authorization"]}), 200)
    assert _html(await stack.http.get(f"/pages/{doc['slug']}/open", headers={"authorization": "Bearer stale"}), 200)


async def test_custom_domain_serves_the_workspace_pages(stack: Stack) -> None:
    domain = f"pages-{uuid.uuid4().hex[:8]}.example.org"
    doc = _pages_doc({"index": {"name": "Home", "template": "<p>home of {{ workspace.slug }}</p>", "public": True},
                      "about": {"name": "About", "template": "<p>about {{ query.x }}</p>", "public": True},
                      "staff": {"name": "Staff", "template": "<p>staff</p>"}},
                     customDomains=[domain])
    ws = await stack.import_workspace(doc)
    host = {"host": domain}
    assert "<p>about 1</p>" in _html(await stack.http.get("/about?x=1", headers=host), 200)
    assert f"<p>home of {ws['slug']}</p>" in _html(await stack.http.get("/", headers=host), 200)
    # Host names compare without case or port; access rules are the same as under /pages.
    assert _html(await stack.http.get("/about", headers={"host": f"{domain.upper()}:8443"}), 200)
    assert _html(await stack.http.get("/staff", headers=host), 401)
    assert _html(await stack.http.get("/staff", headers={**host, **stack.auth}), 200)
    assert "There is no page" in _html(await stack.http.get("/missing", headers=host), 404)
    # API routes keep answering on that host.
    assert (await stack.http.get("/healthz", headers=host)).json() == {"status": "ok"}
    # Any other host: the app's ordinary 404 (JSON), and other methods stay 404 rather than 405.
    other = await stack.http.get("/about")
    assert other.status_code == 404 and other.json()["error"] == "ObjectNotFoundError"
    assert (await stack.http.post("/about", headers=host)).status_code == 404
    assert (await stack.http.delete("/v2/nowhere")).status_code == 404
    # And a trailing slash still redirects to the route without it, as before this catch-all.
    slashed = await stack.http.get("/v2/workspaces/", headers=stack.auth)
    assert slashed.status_code == 307 and slashed.headers["location"].endswith("/v2/workspaces")


async def test_custom_domains_are_unique_across_workspaces(stack: Stack) -> None:
    domain = f"shared-{uuid.uuid4().hex[:8]}.example.org"
    first = await stack.import_workspace(workspace_doc({}, customDomains=[domain]))
    clash = await stack.http.post("/v2/workspaces/import", headers=stack.auth,
                                  json=workspace_doc({}, customDomains=[f"https://{domain.upper()}/"]))
    assert clash.status_code == 400, clash.text
    body = clash.json()
    assert body["error"] == "AlreadyUsedError"
    assert domain in body["message"] and first["slug"] in body["message"]
    assert body["details"] == {"customDomain": domain, "workspaceSlug": first["slug"]}
    second = await stack.import_workspace(workspace_doc({}))
    patched = await stack.http.patch(f"/v2/workspaces/{second['id']}", json={"customDomains": [domain]},
                                     headers=stack.auth)
    assert patched.status_code == 400 and patched.json()["error"] == "AlreadyUsedError"
    created = await stack.http.post("/v2/workspaces", json={"name": "Another one", "customDomains": [domain]},
                                    headers=stack.auth)
    assert created.status_code == 400 and created.json()["error"] == "AlreadyUsedError"
    # The owner itself may keep and re-import it; once it lets go, another may take it.
    same = await stack.http.patch(f"/v2/workspaces/{first['id']}", json={"description": "still mine"},
                                  headers=stack.auth)
    assert same.status_code == 200, same.text
    released = await stack.http.patch(f"/v2/workspaces/{first['id']}", json={"customDomains": []},
                                      headers=stack.auth)
    assert released.status_code == 200, released.text
    taken = await stack.http.patch(f"/v2/workspaces/{second['id']}", json={"customDomains": [domain]},
                                   headers=stack.auth)
    assert taken.status_code == 200, taken.text


BLOCKS_PAGE = {"slug": "dashboard", "name": {"en": "Dashboard", "fr": "Tableau de bord"},
               "blocks": [{"slug": "RichText", "content": "<p>Hi</p>"},
                          {"slug": "Form", "onSubmit": "submitted", "schema": {"type": "object"}}],
               "styles": "body { color: red; }", "labels": ["ops"], "permissions": {"*": {"role": "viewer"}}}


async def test_blocks_pages_round_trip_unchanged_and_show_a_notice(stack: Stack) -> None:
    slug = unique_slug()
    archive = make_zip({"index.yml": {"name": "Blocks", "slug": slug},
                        "pages/dashboard.yml": BLOCKS_PAGE,
                        "pages/report.yml": {"name": "Report", "template": "<p>r</p>", "public": True}})
    imported = await stack.http.post("/v2/workspaces/import", content=archive,
                                     headers={**stack.auth, "content-type": "application/zip"})
    assert imported.status_code == 200, imported.text
    ws = imported.json()["workspace"]
    notice = await stack.http.get(f"/pages/{slug}/dashboard", headers=stack.auth)
    text = _html(notice, 501)
    assert "blocks pages are not rendered" in text and "Dashboard" in text
    assert (await stack.http.get(f"/pages/{slug}/dashboard")).status_code == 401  # not public
    exported = await stack.http.get(f"/v2/workspaces/{ws['id']}/export", headers=stack.auth)
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        assert yaml.safe_load(zf.read("pages/dashboard.yml")) == BLOCKS_PAGE
        again = zf.read("pages/dashboard.yml")
    # Re-importing the export changes nothing (no new revision).
    reimported = await stack.http.post(f"/v2/workspaces/{ws['id']}/import", content=exported.content,
                                       headers={**stack.auth, "content-type": "application/zip"})
    assert reimported.status_code == 200, reimported.text
    detail = (await stack.http.get(f"/v2/workspaces/{ws['id']}", headers=stack.auth)).json()
    assert detail["revision"] == ws["revision"]
    second = await stack.http.get(f"/v2/workspaces/{ws['id']}/export", headers=stack.auth)
    with zipfile.ZipFile(io.BytesIO(second.content)) as zf:
        assert zf.read("pages/dashboard.yml") == again


async def test_invalid_pages_are_refused_at_import(stack: Stack) -> None:
    archive = make_zip({"index.yml": {"name": "Broken pages", "slug": unique_slug()},
                        "pages/empty.yml": {"name": "Nothing to show"},
                        "pages/typo.yml": {"name": "Typo", "template": "<p>\n</p>\n{{ 1 + }}"},
                        "pages/orphan.yml": {"name": "Orphan", "template": "x", "automation": "ghost"}})
    response = await stack.http.post("/v2/workspaces/import", content=archive,
                                     headers={**stack.auth, "content-type": "application/zip"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "InvalidWorkspaceError"
    by_path = {d["path"]: d["message"] for d in body["details"]}
    assert "template syntax error at line 3" in by_path["pages/typo.yml: template"]
    assert "no automation 'ghost'" in by_path["pages/orphan.yml: automation"]
    # A file under pages/ that is no page is a warning (the reference runs such a workspace).
    assert "pages/empty.yml" not in by_path
    only_empty = make_zip({"index.yml": {"name": "Odd pages", "slug": unique_slug()},
                           "pages/empty.yml": {"name": "Nothing to show"}})
    accepted = await stack.http.post("/v2/workspaces/import", content=only_empty,
                                     headers={**stack.auth, "content-type": "application/zip"})
    assert accepted.status_code == 200, accepted.text
    [warning] = accepted.json()["warnings"]
    assert warning["path"] == "pages/empty.yml" and "is not a page" in warning["message"]


ESCAPES = {
    "mro": "{{ ''.__class__.__mro__ }}",
    "globals": "{{ cycler.__init__.__globals__ }}",
    "context": "{{ self._TemplateReference__context }}",
    "config": "{{ config.__class__ }}",
    "subclasses": "{{ [].__class__.__base__.__subclasses__() }}",
    "attr-filter": "{{ ''|attr('__class__') }}",
    "attr-write": "{% set d = {'a': 1} %}{% set d.a = 2 %}{{ d }}",
    "dict-update": "{% set d = {'a': 1} %}{{ d.update({'b': 2}) }}",
    "range": "{{ range(10**9)|list|length }}",
    "repeat": "{{ 'a' * 10**9 }}",
    "width": "{{ '{:>999999999}'.format('a') }}",
    "doubling": "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                "{% endfor %}{{ ns.s|length }}",
    "lipsum": "{{ lipsum.__globals__ }}",
}


async def test_sandbox_escapes_give_a_readable_error_page(stack: Stack) -> None:
    pages = {slug: {"name": slug, "template": f"<p>line one</p>\n{template}", "public": True}
             for slug, template in ESCAPES.items()}
    pages["busy"] = {"template": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                     "public": True}
    ws = await stack.import_workspace(_pages_doc(pages))
    for slug in ESCAPES:
        text = _html(await stack.http.get(f"/pages/{ws['slug']}/{slug}"), 500)
        assert f"Page &#x27;{slug}&#x27; (pages/{slug}.yml), template line 2" in text, (slug, text)
    assert "unsafe" in _html(await stack.http.get(f"/pages/{ws['slug']}/mro"), 500)
    assert "&#x27;lipsum&#x27; is undefined" in _html(await stack.http.get(f"/pages/{ws['slug']}/lipsum"), 500)
    assert "Range too big" in _html(await stack.http.get(f"/pages/{ws['slug']}/range"), 500)
    busy = _html(await stack.http.get(f"/pages/{ws['slug']}/busy"), 500)
    assert "took longer than 2 s" in busy
    # The server is fine afterwards.
    assert (await stack.http.get("/healthz")).status_code == 200


async def test_a_failing_page_automation_is_an_error_page(stack: Stack) -> None:
    # The page's payload has no number ``page``: the run fails with InvalidArgumentsError.
    failing = {"name": "failing", "arguments": {"page": {"type": "number"}}, "validateArguments": True, "do": []}
    doc = _pages_doc({"broken": {"template": "{{ data }}", "automation": "failing", "public": True}},
                     {"failing": failing})
    ws = await stack.import_workspace(doc)
    text = _html(await stack.http.get(f"/pages/{ws['slug']}/broken"), 500)
    assert "its automation &#x27;failing&#x27; failed: InvalidArgumentsError" in text


@pytest.mark.parametrize("template", ["{{ (query.n|int) // 0 }}", "{% for x in 3 %}{% endfor %}",
                                      "{{ data.x.y }}"])
async def test_runtime_template_errors_name_the_line(stack: Stack, template: str) -> None:
    ws = await stack.import_workspace(_pages_doc({"p": {"template": f"a\nb\n{template}", "public": True}}))
    assert "template line 3" in _html(await stack.http.get(f"/pages/{ws['slug']}/p"), 500)
