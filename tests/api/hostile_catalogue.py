"""The hostile-input catalogue of tests/api/test_hostile_bodies.py: every route that takes a body
and the hostile bodies each is sent (JSON, YAML, zips, forms, wrong field types)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi.routing import APIRoute

from api.app import create_app
from api.bodies import BodyReader
from tests.api.helpers import unique_slug, workspace_doc

JSON = {"content-type": "application/json"}
YAML = {"content-type": "application/yaml"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _nested_object(depth: int) -> bytes:
    return ('{"x": ' + '{"a":' * depth + "1" + "}" * depth + "}").encode()


def _nested_list(depth: int) -> bytes:
    return ('{"x": ' + "[" * depth + "]" * depth + "}").encode()


# Refused by the strict JSON reader wherever they appear (schemas/strict_json.py).
HOSTILE_JSON: dict[str, bytes] = {
    "NaN": b'{"x": NaN}',
    "Infinity": b'{"x": Infinity}',
    "-Infinity": b'{"x": [-Infinity]}',
    "1e400": b'{"x": 1e400}',
    "lone surrogate": b'{"name": "a\\ud800"}',
    "lone low surrogate": b'{"name": "\\udc00"}',
    "lone surrogate key": b'{"\\ud800": 1}',
    "NUL": b'{"name": "a\\u0000b"}',
    "nested 300 (objects)": _nested_object(300),
    "nested 600 (objects)": _nested_object(600),
    "nested 999 (lists)": _nested_list(999),
    "nested 1,000 (lists)": _nested_list(1000),
    "nested 10,000 (lists)": _nested_list(10_000),
    "malformed": b'{"name": ',
    "not UTF-8": b'{"name": "\xff\xfe"}',
}
WRONG_TOP_LEVEL: dict[str, bytes] = {"null": b"null", "list": b"[1, 2]", "string": b'"x"', "number": b"12",
                                     "boolean": b"true"}


ECHO = {"name": "echo", "when": {"endpoint": True}, "do": [], "output": "{{body}}"}


@dataclass
class Case:
    label: str
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    status: int = 400


@dataclass
class RouteCases:
    url: str
    headers: dict[str, str]
    cases: list[Case]
    valid: Case  # sent after every hostile request: proves the cases reached the route
    html: bool = False  # the route answers HTML pages, errors included
    methods: tuple[str, ...] = ()  # routes with several methods: each is sent every case


def _json_cases(*, top_level: bool = True) -> list[Case]:
    cases = [Case(label, body) for label, body in HOSTILE_JSON.items()]
    if top_level:
        cases += [Case(f"top-level {label}", body) for label, body in WRONG_TOP_LEVEL.items()]
    return cases


def _fields(*bodies: Any) -> list[Case]:
    """Wrong field types: each body is one case (its JSON as the label)."""
    return [Case(json.dumps(b)[:80], json.dumps(b).encode()) for b in bodies]


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _multipart(name: str, filename: str | None, content: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = "hostileboundary"
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    body = (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").encode() + content + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def _import_cases() -> list[Case]:
    good_index = "name: Hostile import\nslug: hostile-never\n"
    cases = _json_cases()
    cases += [
        Case("YAML duplicate key", b"name: A\nname: B\n", YAML),
        Case("YAML .nan", b"name: A\nconfig:\n  value:\n    x: .nan\n", YAML),
        Case("YAML .inf", b"name: A\nconfig:\n  value: {x: -.inf}\n", YAML),
        Case("YAML lone surrogate", b'name: "a\\ud800"\n', YAML),
        Case("YAML NUL", b'name: "a\\0"\n', YAML),
        Case("YAML nested 300", b"name: A\nconfig: " + b"[" * 300 + b"]" * 300 + b"\n", YAML),
        Case("YAML recursive alias", b"name: A\nconfig: &x [*x]\n", YAML),
        Case("YAML top-level list", b"- 1\n- 2\n", YAML),
        Case("YAML wrong field types", b"name: [1]\nslug: {a: 1}\nautomations: 5\n", YAML),
        Case("zip: index.yml duplicate key", _zip({"index.yml": good_index + "name: again\n"}),
             {"content-type": "application/zip"}),
        Case("zip: automation duplicate key", _zip({"index.yml": good_index, "automations/a.yml":
                                                   "name: a\ndo: []\ndo: []\n"}), {"content-type": "application/zip"}),
        Case("zip: JSON file with NaN", _zip({"index.json": '{"name": "A", "x": NaN}'}),
             {"content-type": "application/zip"}),
        Case("zip: security.yml .nan", _zip({"index.yml": good_index, "security.yml": "a: .nan\n"}),
             {"content-type": "application/zip"}),
        Case("zip: page duplicate key", _zip({"index.yml": good_index, "pages/p.yml": "name: p\nname: q\n"}),
             {"content-type": "application/zip"}),
        Case("zip: not a zip", b"PK\x03\x04garbage", {"content-type": "application/zip"}),
    ]
    body, headers = _multipart("other", "a.zip", _zip({"index.yml": good_index}))
    cases.append(Case("multipart without 'archive'", body, headers))
    body, headers = _multipart("archive", "a.zip", _zip({"index.yml": good_index + "name: twice\n"}))
    cases.append(Case("multipart archive with a duplicate key", body, headers))
    body, headers = _multipart("archive", None, b"not a file")
    cases.append(Case("multipart archive as a plain field", body, headers))
    return cases


# -- the routes --------------------------------------------------------------------------------
def body_routes() -> set[tuple[str, str]]:
    """(method, path) of every route whose dependencies include a body reader."""

    def routes(items: list[Any]) -> list[Any]:
        found: list[Any] = []
        for item in items:
            found += routes(item.original_router.routes) if hasattr(item, "original_router") else [item]
        return found

    def reads_body(dependant: Any) -> bool:
        return any(isinstance(d.call, BodyReader) or reads_body(d) for d in dependant.dependencies)

    app = create_app(type("NoServices", (), {})())  # type: ignore[arg-type]
    return {(method, route.path) for route in routes(app.routes) if isinstance(route, APIRoute)
            and reads_body(route.dependant) for method in route.methods}


def catalogue(world: Any, admin: dict[str, str]) -> dict[tuple[str, str], RouteCases]:
    ws, base = world.ws, f"/v2/workspaces/{world.ws}"
    user = {"authorization": f"Bearer {world.user_token}"}
    nul_field, nul_headers = _multipart("field", None, b"a\x00b")
    webhook_cases = _json_cases(top_level=False) + [
        Case("urlencoded NUL", b"a=%00", FORM), Case("text NUL", b"a\x00b", {"content-type": "text/plain"}),
        Case("multipart field NUL", nul_field, nul_headers)]
    webhook = RouteCases(f"{base}/webhooks/echo", {}, webhook_cases,
                         Case("valid", b'{"x": 1}', status=200), methods=("GET", "POST", "PUT", "PATCH", "DELETE"))
    form_cases = [Case("JSON body", b'{"slug": "x"}', JSON),
                  Case("config NaN", urlencode({"slug": "f1", "config.extra": '{"a": NaN}'}).encode(), FORM),
                  Case("config lone surrogate", urlencode({"slug": "f2", "config.extra": '{"a": "\\ud800"}'}).encode(),
                       FORM),
                  Case("config nested 300", urlencode({"slug": "f3", "config.extra": _nested_object(300).decode()})
                       .encode(), FORM),
                  Case("config nested 10,000", urlencode({"slug": "f4", "config.extra": _nested_list(10_000).decode()})
                       .encode(), FORM),
                  Case("slug missing", urlencode({"config.apiUrl": "x"}).encode(), FORM),
                  Case("bad slug", urlencode({"slug": "a.b"}).encode(), FORM),
                  Case("not UTF-8", b"slug=%ff&config.apiUrl=\xff", FORM)]
    table = {
        ("POST", "/v2/workspaces/import"): RouteCases(
            "/v2/workspaces/import", admin, _import_cases(),
            Case("valid", json.dumps(workspace_doc({})).encode(), status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/import"): RouteCases(
            f"{base}/import", admin, _import_cases(),
            Case("valid", b"description: re-imported\nphoto: https://example.test/p.png\nname: Hostile\n"
                          b"automations:\n  echo:\n    name: echo\n    when: {endpoint: true}\n    do: []\n"
                          b"    output: '{{body}}'\nimports:\n  inst: {appSlug: %s}\n" % world.app.encode(),
                 YAML, status=200)),
        ("POST", "/v2/workspaces"): RouteCases("/v2/workspaces", admin, _json_cases() + _fields(
            {"name": 5}, {"name": ["x"]}, {"name": "n", "slug": 5}, {"name": "n", "slug": ["a"]},
            {"name": "n", "slug": "Not A Slug"}, {"name": "n", "description": {"nested": {"x": []}}},
            {"name": "n", "labels": "x"}, {"name": "n", "config": 5}, {"name": "n", "automations": 5},
            {"name": "n", "automations": {"a": 5}}, {"name": "n", "customDomains": "x"},
            {"name": "n", "secrets": 5}, {"name": "n", "imports": {"x": 1}}),
            Case("valid", json.dumps({"name": unique_slug("Hostile")}).encode(), status=200)),
        ("PATCH", "/v2/workspaces/{workspace_id}"): RouteCases(f"{base}", admin, _json_cases() + _fields(
            {"name": 5}, {"name": None}, {"slug": 5}, {"slug": "A B"}, {"labels": 5}, {"config": "x"},
            {"description": [1]}, {"customDomains": [5]}, {"unknown": 1}, {"photo": {"a": 1}}),
            Case("valid", b'{"description": "patched"}', status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/automations"): RouteCases(
            f"{base}/automations", admin, _json_cases() + _fields(
                {"name": "a", "slug": 5, "do": []}, {"name": "a", "slug": ["x"], "do": []},
                {"name": "a", "slug": {"a": 1}, "do": []}, {"name": "a", "slug": "no dots.allowed", "do": []},
                {"name": "a", "slug": "", "do": []}, {"name": 5, "do": []}, {"name": "a", "do": "x"},
                {"name": "a", "do": [5]}, {"name": "a", "when": 5}, {"name": "a", "slug": "echo"},
                {"name": "a", "arguments": "x"}),
            Case("valid", b'{"name": "created", "slug": "created", "do": []}', status=200)),
        ("PATCH", "/v2/workspaces/{workspace_id}/automations/{slug}"): RouteCases(
            f"{base}/automations/echo", admin, _json_cases() + _fields(
                {"name": "echo", "slug": 5}, {"name": "echo", "slug": [1]}, {"name": "echo", "slug": "a.b"},
                {"name": None}, {"name": "echo", "do": {"a": 1}}, {"name": "echo", "when": {"endpoint": 5}}),
            Case("valid", json.dumps(ECHO).encode(), status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/test/{slug}"): RouteCases(
            f"{base}/test/echo", admin, _json_cases() + _fields({"payload": "x"}, {"payload": [1]}, {"payload": 5}),
            Case("valid", b'{"payload": {"x": 1}}', status=200)),
        # The body is read before the run is looked up: a well-formed one reaches the lookup (404 here).
        ("POST", "/v2/workspaces/{workspace_id}/runs/{run_id}/rerun"): RouteCases(
            f"{base}/runs/{'0' * 32}/rerun", admin, _json_cases() + _fields(
                {"definition": "latest"}, {"definition": 5}, {"definition": None}, {"other": 1}),
            Case("valid", b'{"definition": "original"}', status=404)),
        ("POST", "/v2/apps"): RouteCases("/v2/apps", admin, _json_cases() + _fields(
            {"workspaceId": 5}, {"workspaceId": ws, "slug": 5}, {"workspaceId": ws, "slug": ["x"]},
            {"workspaceId": ws, "name": 5}, {"workspaceId": ws, "name": ["v"]},
            {"workspaceId": ws, "description": 5}, {"workspaceId": ws, "description": {"a": [1]}},
            {"workspaceId": ws, "workspaceVersion": [1]}, {"workspaceId": ws, "workspaceVersion": {"a": 1}},
            {"workspaceId": ws, "slug": "Bad Slug!"}),
            Case("valid", json.dumps({"workspaceId": ws, "slug": unique_slug("hostilepub")}).encode(), status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/apps/install/{app_slug:path}"): RouteCases(
            f"{base}/apps/install/{world.app}", admin, form_cases,
            Case("valid", urlencode({"slug": "fromform", "config.apiUrl": "https://x.test"}).encode(), FORM,
                 status=200), html=True),
        ("POST", "/v2/workspaces/{workspace_id}/apps"): RouteCases(f"{base}/apps", admin, _json_cases() + _fields(
            {"appSlug": 5}, {"appSlug": world.app, "slug": 5}, {"appSlug": world.app, "slug": ["x"]},
            {"appSlug": world.app, "slug": "two", "config": 5}, {"appSlug": world.app, "slug": "two", "config": [1]},
            {"appSlug": world.app, "slug": "two", "disabled": "yes"}, {"appSlug": world.app, "slug": "inst"},
            {"appSlug": world.app, "slug": "two", "appVersion": 5}),
            Case("valid", json.dumps({"appSlug": world.app, "slug": "second"}).encode(), status=200)),
        ("PATCH", "/v2/workspaces/{workspace_id}/apps/{slug:path}/config"): RouteCases(
            f"{base}/apps/inst/config", admin, _json_cases() + _fields({"apiUrl": 5}, {"extra": "x"}),
            Case("valid", b'{"apiUrl": "https://patched.test"}', status=200)),
        ("PATCH", "/v2/workspaces/{workspace_id}/apps/{slug:path}"): RouteCases(
            f"{base}/apps/inst", admin, _json_cases() + _fields(
                {"slug": 5}, {"slug": ["x"]}, {"slug": "a.b"}, {"config": 5}, {"disabled": "x"}, {"appSlug": 5}),
            Case("valid", b'{"config": {"apiUrl": "https://configured.test"}}', status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/events"): RouteCases(
            f"{base}/events", admin, _json_cases() + _fields(
                {"events": "x"}, {"events": 5}, {"events": [5]}, {"events": [{"type": 5}]},
                {"events": [{"type": "a.b", "payload": "x"}]}, {"events": [{"type": "a.b", "target": "x"}]},
                {"events": [{"type": "a.b", "options": [1]}]}, {"events": [{"type": "a.b"}, {"type": ["x"]}]},
                {"events": []}),
            Case("valid", b'{"events": [{"type": "hostile.valid"}]}', status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/search"): RouteCases(
            f"{base}/search", admin, _json_cases() + _fields(
                {"query": "x"}, {"query": [1]}, {"query": {"fuzzy": {"type": "x"}}}, {"query": {}, "limit": "5"},
                {"query": {}, "runtime_mappings": {}}, {"query": {}, "size": 5}, {"query": {}, "aggs": 5},
                {"query": {}, "sort": 5}, {"limit": 1}),
            Case("valid", b'{"query": {"term": {"type": "hostile.valid"}}, "aggs": {"t": {"terms": {"field": "type"}}}}',
                 status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/versions"): RouteCases(
            f"{base}/versions", admin, _json_cases() + _fields(
                {"description": 5}, {"description": "d", "name": 5}, {"description": "d", "name": ["v"]},
                {"description": ["d"]}),
            Case("valid", b'{"description": "another"}', status=200)),
        ("PUT", "/v2/workspaces/{workspace_id}/security"): RouteCases(
            f"{base}/security", admin, _json_cases() + _fields(
                {"authorizations": 5}, {"authorizations": {"roles": "x"}}, {"authorizations": {"rules": {"a": 1}}},
                {"authorizations": {"roles": {"r": 5}}}, {"authorizations": {"rules": [5]}}),
            Case("valid", b'{"authorizations": {"roles": {"agent": {}}, "rules": []}}', status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/permissions"): RouteCases(
            f"{base}/permissions", admin, _json_cases() + _fields(
                {"target": {"id": "u1"}, "permissions": "x"}, {"target": {"id": "u1"}, "permissions": ["read"]},
                {"target": {"id": "u1"}, "permissions": 5}, {"target": {"id": "u1"}, "permissions": {"role": 5}},
                {"target": {"id": "u1"}, "permissions": {"role": ["editor"]}}, {"target": "u1", "permissions": {
                    "role": "editor"}}, {"target": {"id": 5}, "permissions": {"role": "editor"}},
                {"target": {"id": "u1"}, "permissions": {"role": "nobody"}}, {"target": {"id": "u1"}},
                {"target": {"id": ""}, "permissions": {"role": "editor"}}),
            Case("valid", b'{"target": {"id": "u1"}, "permissions": {"role": "editor"}}', status=200)),
        ("PUT", "/v2/workspaces/{workspace_id}/security/secrets"): RouteCases(
            f"{base}/security/secrets", admin, _json_cases() + _secret_cases(),
            Case("valid", b'{"token": {"value": "s3cret"}, "other": {"value": 1, "description": "d"}}', status=200)),
        ("PATCH", "/v2/workspaces/{workspace_id}/security/secrets"): RouteCases(
            f"{base}/security/secrets", admin, _json_cases() + _secret_cases(),
            Case("valid", b'{"third": {"value": "x"}}', status=200)),
        ("POST", "/v2/workspaces/{workspace_id}/security/apikeys"): RouteCases(
            f"{base}/security/apikeys", admin, _json_cases() + _key_cases(),
            Case("valid", b'{"name": "another", "rules": []}', status=200)),
        ("PUT", "/v2/workspaces/{workspace_id}/security/apikeys/{key_id}"): RouteCases(
            f"{base}/security/apikeys/{world.key_id}", admin, _json_cases() + _key_cases(),
            Case("valid", b'{"name": "renamed", "rules": []}', status=200)),
        ("POST", "/codec/{path:path}"): RouteCases("/codec/decode", admin, _json_cases() + _fields(
            {"payloads": 5}, {"payloads": [5]}, {"payloads": [{"metadata": 5}]}, {"payloads": {"a": 1}}),
            Case("valid", b'{"payloads": []}', status=200)),
        ("POST", "/v2/login"): RouteCases("/v2/login", {}, _json_cases() + _fields(
            {"email": 5, "password": "x"}, {"email": ["a@b.c"], "password": "x"}, {"email": "a@b.c", "password": 5},
            {"email": {"a": 1}, "password": None}, {"password": "x"}),
            Case("valid", b'{"email": "nobody@example.org", "password": "not the password"}', status=401)),
        ("POST", "/v2/users"): RouteCases("/v2/users", admin, _json_cases() + _fields(
            {"email": 5, "password": "correct horse"}, {"email": "x@example.org", "password": 5},
            {"email": "x@example.org", "password": "correct horse", "superadmin": "yes"},
            {"email": ["x@example.org"], "password": ["correct horse"]}, {"email": "x@example.org", "password": "short"}),
            Case("valid", json.dumps({"email": f"{uuid.uuid4().hex[:8]}@example.org",
                                      "password": "correct horse"}).encode(), status=200)),
        ("POST", "/v2/user/accessTokens"): RouteCases("/v2/user/accessTokens", user, _json_cases() + _fields(
            {"name": 5}, {"name": ["x"]}, {"name": ""}, {"name": "x" * 201}, {}),
            Case("valid", b'{"name": "ci"}', status=200)),
    }
    table[("POST", "/v2/workspaces/{workspace_id}/files")] = RouteCases(
        f"{base}/files", admin, _file_cases(),
        Case("valid", b'{"file": "data:text/plain;base64,SGVsbG8=", "name": "hello.txt"}', status=200))
    for method in webhook.methods:
        table[(method, "/v2/workspaces/{workspace_id}/webhooks/{endpoint:path}")] = webhook
    return table


def _multipart_fields(fields: list[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body of ``(name, filename or None, content)`` parts."""
    boundary = "hostileboundary"
    body = b""
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), {"content-type": f"multipart/form-data; boundary={boundary}"}


def _file_cases() -> list[Case]:
    """``POST …/files``: JSON with a data URI, and multipart (docs/files.md)."""
    uri = "data:text/plain;base64,SGVsbG8="
    cases = _json_cases() + _fields(
        {}, {"file": 5}, {"file": ["x"]}, {"file": {"a": 1}}, {"file": "not a data URI"},
        {"file": "data:text/plain;base64,***"}, {"file": uri, "expiresAfter": -1}, {"file": uri, "expiresAfter": 0},
        {"file": uri, "expiresAfter": "soon"}, {"file": uri, "expiresAfter": 10 ** 12}, {"file": uri, "public": "maybe"},
        {"file": uri, "public": 5}, {"file": uri, "shareToken": [True]}, {"file": uri, "metadata": "[1]"},
        {"file": uri, "metadata": '{"a": NaN}'}, {"file": uri, "metadata": 5}, {"file": uri, "metadata": [1]},
        {"file": uri, "name": 5})
    multipart: dict[str, list[tuple[str, str | None, bytes]]] = {
        "multipart: no file": [("public", None, b"true")],
        "multipart: file under another name": [("other", "a.txt", b"x")],
        "multipart: file field not a data URI": [("file", None, b"just text")],
        "multipart: metadata NUL": [("file", "a.txt", b"x"), ("metadata", None, b'{"a": "\x00"}')],
        "multipart: metadata not JSON": [("file", "a.txt", b"x"), ("metadata", None, b"{a: 1}")],
        "multipart: metadata lone surrogate": [("file", "a.txt", b"x"), ("metadata", None, b'{"a": "\\ud800"}')],
        "multipart: metadata nested 300": [("file", "a.txt", b"x"), ("metadata", None, _nested_object(300))],
        "multipart: expiresAfter text": [("file", "a.txt", b"x"), ("expiresAfter", None, b"tomorrow")],
        "multipart: public yes": [("file", "a.txt", b"x"), ("public", None, b"yes")],
        "multipart: field twice": [("file", "a.txt", b"x"), ("public", None, b"true"), ("public", None, b"false")],
    }
    for label, fields in multipart.items():
        body, headers = _multipart_fields(fields)
        cases.append(Case(label, body, headers))
    cases += [Case("multipart without a boundary", b"x", {"content-type": "multipart/form-data"}),
              Case("multipart malformed", b"--b\r\nno headers end", {"content-type": "multipart/form-data; boundary=b"})]
    return cases


def _secret_cases() -> list[Case]:
    return _fields(
        {"a": {"value": "x", "description": {"o": 1}}}, {"a": {"value": "x", "description": [1]}},
        {"a": {"value": "x", "description": 10 ** 30}}, {"a": {"value": "x", "description": "d" * 1001}},
        {"a": "x"}, {"a": {"description": "no value"}}, {"bad name": {"value": "x"}}, {"": {"value": "x"}},
        {"a": {"value": "x"}, "b": 5}, {"n" * 201: {"value": "x"}}) + [
        Case("huge integer description", b'{"a": {"value": "x", "description": 1' + b"0" * 400 + b"}}"),
        Case("huge integer value", b'{"a": {"value": 1' + b"0" * 5000 + b"}}")]


def _key_cases() -> list[Case]:
    return _fields({"name": 5, "rules": []}, {"name": "k", "rules": "x"}, {"name": "k", "rules": [5]},
                   {"name": "k", "rules": [], "disabled": "no"}, {"name": ["k"], "rules": {}}, {"rules": []},
                   {"name": "k", "rules": [{"action": 5, "subject": "workspaces"}]})


