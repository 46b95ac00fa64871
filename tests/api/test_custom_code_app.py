"""The built-in Custom Code app (issue 18) through webhooks on a real stack: installed by
``appSlug`` without publishing, listed and reserved; functions run in the JavaScript sandbox with
the crypto, Buffer and async features real workspaces use; hostile code contained; and imports of
apps this Tideway does not have (``missingApps``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.api.helpers import unique_slug, workspace_doc
from tests.stack import Stack

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()

FUNCTIONS: dict[str, Any] = {
    "isAgentAllowed": {"parameters": {"list": {"type": "string"}, "agentId": {"type": "string"}}, "code": (
        "const ids = String(list || '').split(',').map(s => s.trim()).filter(Boolean);\n"
        "return { allowed: ids.includes('*') || ids.includes(String(agentId)) };")},
    "digest": {"parameters": {"text": {"type": "string"}, "key": {"type": "string"}}, "code": (
        "const crypto = require('crypto');\n"
        "return { sha256: crypto.createHash('sha256').update(text).digest('hex'),\n"
        "         md5: crypto.createHash('md5').update(text).digest('base64'),\n"
        "         hmac: crypto.createHmac('sha256', key).update(text).digest('hex'),\n"
        "         b64: Buffer.from(text, 'utf8').toString('base64'), back: Buffer.from('aGk=', 'base64').toString('utf8'),\n"
        "         hex: Buffer.from(text).toString('hex') };")},
    "sign": {"parameters": {"payload": {"type": "string"}, "pem": {"type": "string"}}, "code": (
        "const signer = require('crypto').createSign('RSA-SHA256');\n"
        "signer.update(payload);\n"
        "return signer.sign(pem, 'base64');")},
    "later": {"parameters": {"n": {"type": "number"}}, "code": (
        "const twice = async x => x * 2;\n"
        "const a = await twice(n);\n"
        "console.log('doubled', a);\n"
        "return { a, b: await Promise.resolve(a + 1) };")},
    "fails": {"code": "const x = 1;\nthrow new Error('no luck ' + x);"},
    "spins": {"code": "while (true) {}"},
    "greedy": {"code": "const a = []; while (true) { a.push('x'.repeat(1024 * 1024)); }"},
    "escape": {"code": (
        "const out = {};\n"
        "try { require('fs'); out.fs = 'loaded'; } catch (e) { out.fs = e.message; }\n"
        "out.process = typeof process;\n"
        "out.fetch = typeof fetch + '/' + typeof XMLHttpRequest;\n"
        "try { out.ctor = String(globalThis.constructor.constructor('return typeof process')()); }\n"
        "catch (e) { out.ctor = 'error: ' + e.message; }\n"
        "globalThis.leak = 'from an earlier call';\n"
        "return out;")},
    "peek": {"code": "return typeof globalThis.leak;"},
}


def caller(function: str, output: Any = "{{r}}", instance: str = "Custom Code", spelling: str = "run function"
           ) -> dict[str, Any]:
    return {"name": f"call {function}", "when": {"endpoint": True}, "do": [
        {f"{instance}.{spelling}": {"function": function, "parameters": "{{body}}", "output": "r"}}], "output": output}


async def code_workspace(stack: Stack) -> str:
    automations = {name: caller(name) for name in FUNCTIONS}
    automations["short"] = caller("isAgentAllowed", spelling="run")
    automations["other"] = caller("hello", instance="Second")
    document = {**workspace_doc(automations), "imports": {
        "Custom Code": {"appSlug": "Custom Code", "slug": "Custom Code", "config": {"functions": FUNCTIONS}},
        "Second": {"appSlug": "Custom Code", "config": {"functions": {"hello": {"code": "return 'second';"}}}}}}
    return (await stack.import_workspace(document))["id"]


async def hook(stack: Stack, ws: str, name: str, body: Any) -> Any:
    return await stack.http.post(f"/v2/workspaces/{ws}/webhooks/{name}", json=body)


async def test_custom_code_is_built_in_listed_and_reserved(stack: Stack) -> None:
    listed = (await stack.http.get("/v2/apps", params={"text": "custom code"}, headers=stack.auth)).json()
    [app] = [a for a in listed if a["slug"] == "Custom Code"]
    assert app["builtIn"] is True and "workspaceId" not in app and app["version"]
    detail = (await stack.http.get("/v2/apps/Custom Code", headers=stack.auth)).json()
    assert {a["slug"] for a in detail["automations"]} == {"run", "run function"}
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    published = await stack.http.post("/v2/apps", json={"workspaceId": ws, "slug": "Custom Code"}, headers=stack.auth)
    assert published.status_code == 403 and "built into Tideway" in published.json()["message"]
    deleted = await stack.http.delete("/v2/apps/Custom Code", headers=stack.auth)
    assert deleted.status_code == 403 and "reserved" in deleted.json()["message"]


async def test_functions_run_with_exact_results(stack: Stack) -> None:
    ws = await code_workspace(stack)
    allowed = await hook(stack, ws, "isAgentAllowed", {"list": "a, b,c", "agentId": "b"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"allowed": True}
    assert (await hook(stack, ws, "short", {"list": "a", "agentId": "z"})).json() == {"allowed": False}
    assert (await hook(stack, ws, "other", {})).json() == "second"  # each instance has its own functions

    text, key = "tideway ✓", "k3y"
    digest = (await hook(stack, ws, "digest", {"text": text, "key": key})).json()
    assert digest == {"sha256": hashlib.sha256(text.encode()).hexdigest(),
                      "md5": base64.b64encode(hashlib.md5(text.encode()).digest()).decode(),  # noqa: S324
                      "hmac": hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest(),
                      "b64": base64.b64encode(text.encode()).decode(), "back": "hi", "hex": text.encode().hex()}

    payload = "header.claims"
    signature = (await hook(stack, ws, "sign", {"payload": payload, "pem": PEM})).json()
    KEY.public_key().verify(base64.b64decode(signature), payload.encode(), padding.PKCS1v15(), hashes.SHA256())

    later = await hook(stack, ws, "later", {"n": 4})
    assert later.json() == {"a": 8, "b": 9}
    logged = [e for e in await stack.events(ws, types="runtime.customcode.logged") if e["payload"]["function"] == "later"]
    assert logged and "doubled 8" in logged[0]["payload"]["lines"][0]


async def test_errors_are_clear(stack: Stack) -> None:
    ws = await code_workspace(stack)
    thrown = await hook(stack, ws, "fails", {})
    body = thrown.json()
    assert thrown.status_code == 400 and body["error"] == "CustomCodeError", body
    assert "no luck 1" in body["message"] and body["details"]["function"] == "fails"
    assert body["details"]["reason"] == "thrown" and body["details"]["line"] == 2
    missing = await stack.import_workspace({**workspace_doc({"x": caller("nope")}), "imports": {
        "Custom Code": {"appSlug": "Custom Code", "config": {"functions": {"one": {"code": "return 1;"}}}}}})
    answer = await hook(stack, missing["id"], "x", {})
    assert answer.status_code == 404 and "'nope'" in answer.json()["message"] and "one" in answer.json()["message"]


async def test_hostile_code_is_contained(stack: Stack) -> None:
    ws = await code_workspace(stack)
    spinning = asyncio.ensure_future(hook(stack, ws, "spins", {}))
    await asyncio.sleep(0.5)
    # The worker keeps serving other runs while a function spins.
    assert (await hook(stack, ws, "short", {"list": "*", "agentId": "x"})).json() == {"allowed": True}
    spun = (await spinning).json()
    assert spun["error"] == "CustomCodeError" and spun["details"]["reason"] == "timeout"
    greedy = (await hook(stack, ws, "greedy", {})).json()
    assert greedy["error"] == "CustomCodeError" and greedy["details"]["reason"] == "memory"
    escape = (await hook(stack, ws, "escape", {})).json()
    assert "fs" in escape["fs"] and "crypto" in escape["fs"]  # names what is available
    assert escape["process"] == "undefined" and escape["fetch"] == "undefined/undefined"
    assert escape["ctor"] == "undefined" or escape["ctor"].startswith("error")
    assert (await hook(stack, ws, "peek", {})).json() == "undefined"  # a fresh context per call
    assert (await hook(stack, ws, "short", {"list": "a", "agentId": "a"})).json() == {"allowed": True}


async def test_import_checks_functions_and_internal_instructions(stack: Stack) -> None:
    bad = {**workspace_doc({}), "imports": {"Tools": {"appSlug": "Custom Code", "config": {"functions": {
        "broken": {"code": "const a = 1;\nreturn a +;"},
        "snake": {"language": "python", "code": "return 1"}}}}}}
    response = await stack.http.post("/v2/workspaces/import", json=bad, headers=stack.auth)
    assert response.status_code == 400, response.text
    found = {d["path"]: d["message"] for d in response.json()["details"]}
    broken = found["document: imports.Tools.config.functions.broken.code"]
    assert "'Tools'" in broken and "'broken'" in broken and "line 2" in broken
    assert "document: imports.Tools.config.functions.snake.language" in found
    direct = await stack.http.post("/v2/workspaces/import", headers=stack.auth, json=workspace_doc(
        {"sneaky": {"name": "sneaky", "do": [{"customCode": {"function": "x"}}]}}))
    assert direct.status_code == 400 and "internal to Tideway's built-in Custom Code app" in direct.text


async def test_missing_apps_are_listed_or_kept_on_request(stack: Stack) -> None:
    later = unique_slug("later-app")
    document = {**workspace_doc({"ask": {"name": "ask", "when": {"endpoint": True},
                                         "do": [{"llm.complete": {"output": "r"}}], "output": "{{r}}"}}),
                "imports": {"llm": {"appSlug": later}, "crm": {"appSlug": unique_slug("never")}}}
    refused = await stack.http.post("/v2/workspaces/import", json=document, headers=stack.auth)
    assert refused.status_code == 400
    paths = {d["path"] for d in refused.json()["details"]}
    assert paths == {"document: imports.llm.appSlug", "document: imports.crm.appSlug"}  # every one at once
    assert "missingApps=allow" in refused.text

    kept = await stack.http.post("/v2/workspaces/import", params={"missingApps": "allow"}, json=document,
                                 headers=stack.auth)
    assert kept.status_code == 200, kept.text
    assert {w["path"] for w in kept.json()["warnings"]} >= {"document: imports.llm.appSlug",
                                                             "document: imports.crm.appSlug"}
    ws = kept.json()["workspace"]["id"]
    failing = await hook(stack, ws, "ask", {})
    assert failing.status_code == 404 and failing.json()["error"] == "AppNotAvailableError", failing.text
    assert later in failing.json()["message"]

    # The app is published later: the instance works without a new import.
    source = (await stack.import_workspace(workspace_doc({"complete": {"name": "complete", "do": [],
                                                                       "output": "answered"}})))["id"]
    assert (await stack.http.post("/v2/apps", json={"workspaceId": source, "slug": later},
                                  headers=stack.auth)).status_code == 200
    assert (await hook(stack, ws, "ask", {})).json() == "answered"

    in_body = await stack.http.post("/v2/workspaces/import", json={**document, "slug": unique_slug(),
                                                                   "missingApps": "allow"}, headers=stack.auth)
    assert in_body.status_code == 200, in_body.text
