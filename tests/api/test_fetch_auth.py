"""``fetch`` additions of issue 17 (docs/fetch.md) against real local servers and a real stack:
``outputMode: base64``, ``auth.basic``, ``auth.awsv4`` (checked by a server that recomputes the
signature from what it received), credentials kept out of events and errors,
``allowSelfSignedCert`` on a real TLS server, and ``auth.prismeai.forwardWorkspaceAuth`` against
Tideway's own API served on a loopback port (what the token may and may not do)."""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from activities.egress import EgressPolicy
from activities.egress_http import EgressGuard
from activities.fetch import FetchActivities
from activities.fetch_auth import OwnApi
from api.app import create_app
from core.access.forwarded import ForwardedTokens
from core.access.identity import signing_key
from core.access.permissions.defaults import initial_security
from core.infra.settings import Settings
from tests.api.helpers import make_user, workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.stack import Stack, open_stack

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
AKID, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-EXAMPLE-123"
AWS_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                      r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


async def _headers(request: Request) -> JSONResponse:
    return JSONResponse({"headers": dict(request.headers)})


async def _png(request: Request) -> Response:
    return Response(PNG, media_type="image/png")


async def _json(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def _aws(request: Request) -> JSONResponse:
    """Recompute the SigV4 signature from the request as received (raw path and query, the signed
    headers, the body), as AWS does; 403 with the reason when it does not match."""
    body = await request.body()
    if request.method == "DELETE":  # a refusal that echoes nothing: runtime.fetch.failed is emitted
        return JSONResponse({"refused": True}, status_code=403)
    match = AWS_AUTH.match(request.headers.get("authorization", ""))
    if match is None:
        return JSONResponse({"valid": False, "why": "no SigV4 authorization"}, status_code=403)
    key_id, _, region, service, signed, signature = match.groups()
    raw_path = request.scope["raw_path"].decode()
    query = request.scope["query_string"].decode()
    aws = AWSRequest(method=request.method, url=f"http://{request.headers['host']}{raw_path}" + (f"?{query}" if query else ""),
                     data=body, headers={name: request.headers[name] for name in signed.split(";")})
    aws.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(key_id, SECRET, request.headers.get("x-amz-security-token")), service, region)
    expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    seen = {"valid": expected == signature, "service": service, "region": region, "signed": signed.split(";"),
            "token": request.headers.get("x-amz-security-token"), "query": query, "body": body.decode("latin-1")}
    return JSONResponse(seen, status_code=200 if expected == signature else 403)


APP = Starlette(routes=[Route("/headers", _headers), Route("/png", _png), Route("/json", _json),
                        Route("/{path:path}", _aws, methods=["GET", "POST", "PUT", "DELETE"])])


def _hook(fetch: dict[str, Any], output: str = "{{r}}") -> dict[str, Any]:
    return {"name": "go", "when": {"endpoint": True}, "do": [{"fetch": {**fetch, "output": "r"}}], "output": output}


async def _go(stack: Stack, fetch: dict[str, Any], output: str = "{{r}}", **call: Any) -> tuple[str, Any]:
    ws = (await stack.import_workspace(workspace_doc({"go": _hook(fetch, output)})))["id"]
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/go", json={}, **call)
    return ws, response


async def _templated(stack: Stack) -> str:
    """A workspace whose fetch takes its ``auth`` from the webhook body (checked only at run time)."""
    return (await stack.import_workspace(workspace_doc({"go": _hook(
        {"url": "http://127.0.0.1:9/", "auth": "{{body.auth}}"})})))["id"]


async def test_output_mode_base64_is_the_response_bytes_whatever_their_type(sqlite_stack: Stack) -> None:
    async with HttpStub([], app=APP) as stub:
        for path, raw in (("/png", PNG), ("/json", b'{"ok":true}')):
            _, response = await _go(sqlite_stack, {"url": stub.url + path, "outputMode": "base64"})
            assert response.status_code == 200, response.text
            assert base64.b64decode(response.json()) == raw  # not parsed, not a data URL


async def test_basic_auth_sends_the_header_and_replaces_one_the_author_set(sqlite_stack: Stack) -> None:
    async with HttpStub([], app=APP) as stub:
        _, response = await _go(sqlite_stack, {"url": f"{stub.url}/headers", "headers": {"Authorization": "Bearer old"},
                                               "auth": {"basic": {"username": "ada", "password": "pâss:wörd"}}})
    assert response.status_code == 200, response.text
    sent = response.json()["headers"]["authorization"]
    assert sent == "Basic " + base64.b64encode("ada:pâss:wörd".encode()).decode()


async def test_awsv4_signature_holds_for_the_request_the_server_receives(sqlite_stack: Stack) -> None:
    aws = {"accessKeyId": AKID, "secretAccessKey": SECRET, "service": "bedrock", "region": "eu-west-3"}
    async with HttpStub([], app=APP) as stub:
        # A Bedrock-like path (':' in the model id), a query needing AWS's stricter encoding, a JSON body.
        _, response = await _go(sqlite_stack, {
            "url": f"{stub.url}/model/amazon.titan-text-express-v1:0/invoke?b=x y&a=1/2", "query": {"z": "é,*"},
            "method": "post", "body": {"inputText": "Hello"}, "auth": {"awsv4": aws}})
        assert response.status_code == 200, response.text
        seen = response.json()
        assert seen["valid"] and seen["service"] == "bedrock" and seen["region"] == "eu-west-3", seen
        assert {"host", "x-amz-date", "content-type"} <= set(seen["signed"]) and seen["token"] is None
        assert seen["query"] == "b=x%20y&a=1%2F2&z=%C3%A9%2C%2A" and json.loads(seen["body"]) == {"inputText": "Hello"}
        # With a session token (signed too), and a multipart body: the generated body is what is signed.
        _, response = await _go(sqlite_stack, {"url": f"{stub.url}/upload", "auth": {"awsv4": {**aws, "sessionToken": TOKEN}},
                                               "multipart": [{"fieldname": "f", "value": "hello", "filename": "h.txt"}]})
        seen = response.json()
        assert response.status_code == 200 and seen["valid"] and seen["token"] == TOKEN, seen
        assert "x-amz-security-token" in seen["signed"] and 'filename="h.txt"' in seen["body"]


async def test_credentials_never_reach_events_or_errors(sqlite_stack: Stack) -> None:
    aws = {"accessKeyId": AKID, "secretAccessKey": SECRET, "service": "bedrock", "region": "eu-west-3",
           "sessionToken": TOKEN}
    async with HttpStub([], app=APP) as stub:  # DELETE answers 403: runtime.fetch.failed is emitted
        ws, response = await _go(sqlite_stack, {"url": f"{stub.url}/x", "method": "delete", "auth": {"awsv4": aws}})
        assert response.status_code == 200, response.text
        ws2, response2 = await _go(sqlite_stack, {"url": f"{stub.url}/x", "method": "delete",
                                                  "auth": {"basic": {"username": "ada", "password": "hunter2-literal"}}})
    failed = [e for e in await sqlite_stack.events(ws) if e["type"] == "runtime.fetch.failed"]
    assert failed and failed[0]["payload"]["request"]["auth"] == {"awsv4": "REDACTED"}
    failed2 = [e for e in await sqlite_stack.events(ws2) if e["type"] == "runtime.fetch.failed"]
    assert failed2 and failed2[0]["payload"]["request"]["auth"] == {"basic": "REDACTED"}
    everything = json.dumps([await sqlite_stack.events(ws), await sqlite_stack.events(ws2), response.json()])
    assert SECRET not in everything and TOKEN not in everything and "hunter2-literal" not in everything
    # An invalid auth is a 400 naming the fields, never quoting a value (at import time too).
    imported = await sqlite_stack.http.post("/v2/workspaces/import", headers=sqlite_stack.auth, json=workspace_doc(
        {"go": _hook({"url": "http://127.0.0.1:9/", "auth": {"awsv4": {**aws, "region": 3}}})}))
    assert imported.status_code == 400 and "fetch.auth.awsv4.region" in imported.text and SECRET not in imported.text
    bad = await sqlite_stack.http.post(f"/v2/workspaces/{await _templated(sqlite_stack)}/webhooks/go",
                                       json={"auth": {"awsv4": {**aws, "region": 3}}})
    assert bad.status_code == 400 and bad.json()["error"] == "FetchError", bad.text
    assert "fetch.auth.awsv4.region" in bad.json()["message"] and SECRET not in bad.text and TOKEN not in bad.text


async def test_auth_mistakes_are_clear_errors(sqlite_stack: Stack) -> None:
    """Given through a template, so that the run sees the auth exactly as written."""
    ws = await _templated(sqlite_stack)
    cases = {
        "fetch.auth.oauth2: Extra inputs are not permitted": {"oauth2": {"clientId": "x"}},
        "fetch.auth takes one of basic, awsv4 or prismeai, got basic and prismeai": {
            "basic": {"username": "a", "password": "b"}, "prismeai": {"forwardWorkspaceAuth": True}},
        "fetch.auth.basic.password: Field required": {"basic": {"username": "a"}},
    }
    for message, auth in cases.items():
        response = await sqlite_stack.http.post(f"/v2/workspaces/{ws}/webhooks/go", json={"auth": auth})
        assert response.status_code == 400 and message in response.json()["message"], (auth, response.text)


# -- allowSelfSignedCert (the activity itself, on a real TLS server) ----------------------------

def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class TlsStub(HttpStub):
    def __init__(self, app: Any, cert: Path, key: Path):
        super().__init__([], app=app)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                    lifespan="off", ssl_certfile=str(cert), ssl_keyfile=str(key)))


async def test_allow_self_signed_cert_skips_verification_and_nothing_else(sqlite_stack: Stack, tmp_path: Path) -> None:
    settings = sqlite_stack.services.settings
    activities = FetchActivities(sqlite_stack.services.blobs, 10, EgressGuard(EgressPolicy.from_settings(settings)),
                                 OwnApi.from_settings(settings))
    strict = FetchActivities(sqlite_stack.services.blobs, 10,  # loopback not admitted here
                             EgressGuard(EgressPolicy.from_settings(Settings(fetch_allowed_hosts=""))))
    try:
        async with TlsStub(APP, *_self_signed(tmp_path)) as stub:
            url = f"https://127.0.0.1:{stub.port}/json"
            refused = await activities.fetch({"url": url, "method": "GET"})
            assert refused["status"] == 0 and "CERTIFICATE_VERIFY_FAILED" in refused["error"], refused
            accepted = await activities.fetch({"url": url, "method": "GET", "allowSelfSignedCert": True})
            assert accepted["status"] == 200 and accepted["body"] == {"ok": True}, accepted
            egress = await strict.fetch({"url": url, "method": "GET", "allowSelfSignedCert": True})
            assert "refused by the egress policy: 127.0.0.1 is a loopback address" in egress["error"], egress
            mixed = await activities.fetch({"url": settings.public_url + "/x", "method": "GET", "allowSelfSignedCert": True,
                                            "auth": {"prismeai": {"forwardWorkspaceAuth": True}}, "runUser": {"userId": "u"}})
            assert "cannot be combined with allowSelfSignedCert" in mixed["error"], mixed
    finally:
        await activities.aclose()
        await strict.aclose()


# -- forwardWorkspaceAuth, against Tideway's API on a real port --------------------------------

class LateApp:
    """An ASGI app set after the server's port is known (the stack's settings need the port)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


FORWARD = {
    "forward": {"name": "forward", "when": {"endpoint": True}, "do": [
        {"conditions": {"{{body.as}}": [{"set": {"name": "user.id", "value": "{{body.as}}"}}]}},
        {"fetch": {"url": "{{body.url}}", "method": "post", "body": {"hello": 1}, "output": "r",
                   "auth": {"prismeai": {"forwardWorkspaceAuth": True}}}}], "output": "{{r}}"},
    "whoami": {"name": "whoami", "when": {"endpoint": True}, "do": [],
               "output": {"user": "{{user.id}}", "auth": "{{headers.authorization}}"}},
}


@pytest.fixture(scope="module")
async def served(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[tuple[Stack, str]]:
    """A stack whose TIDEWAY_PUBLIC_URL is its API, served on a loopback port."""
    late = LateApp()
    async with HttpStub([], app=late) as api:
        path = tmp_path_factory.mktemp("forward") / "tideway.db"
        async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite", tideway_public_url=api.url) as stack:
            late.app = create_app(stack.services)
            yield stack, api.url


async def _forwarded_token(stack: Stack, base: str, user: dict[str, str], ws: str, **body: Any) -> dict[str, Any]:
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/forward", headers={"authorization": user["authorization"]},
                                     json={"url": f"{base}/v2/workspaces/{ws}/webhooks/whoami", **body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_forwarded_token_acts_for_the_run_user_on_its_workspace_only(served: tuple[Stack, str]) -> None:
    stack, base = served
    owner, other = await make_user(stack, "owner"), await make_user(stack, "other")
    as_owner = {"authorization": owner["authorization"]}
    ws = (await stack.http.post("/v2/workspaces/import", json=workspace_doc(FORWARD), headers=as_owner)).json()["workspace"]["id"]
    second = (await stack.http.post("/v2/workspaces/import", json=workspace_doc(FORWARD), headers=as_owner)).json()["workspace"]["id"]
    await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"k": {"value": "v-secret"}}, headers=as_owner)
    # On a webhook of its workspace the token is the run's user; `set user.id` does not change whose token it is.
    seen = await _forwarded_token(stack, base, owner, ws, **{"as": other["id"]})
    assert seen["user"] == owner["id"] and seen["auth"].startswith("Bearer "), seen
    token = seen["auth"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["ws"] == ws and claims["sub"] == owner["id"] and claims["scope"] == "workspace"
    assert claims["exp"] - claims["iat"] == 300
    bearer = {"authorization": f"Bearer {token}"}
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers=bearer)).status_code == 200
    assert (await stack.http.get(f"/v2/workspaces/{ws}/automations/whoami", headers=bearer)).status_code == 200
    refused = {  # another workspace of the same owner, what would raise rights, what is outside the workspace
        ("GET", f"/v2/workspaces/{second}"): 403, ("POST", f"/v2/workspaces/{second}/webhooks/whoami"): 403,
        ("GET", f"/v2/workspaces/{ws}/security"): 403, ("PUT", f"/v2/workspaces/{ws}/security"): 403,
        ("GET", f"/v2/workspaces/{ws}/security/secrets?reveal=true"): 403, ("GET", f"/v2/workspaces/{ws}/permissions"): 403,
        ("POST", f"/v2/workspaces/{ws}/permissions"): 403, ("POST", f"/v2/workspaces/{ws}/security/apikeys"): 403,
        ("POST", f"/v2/workspaces/{ws}/duplicate"): 403, ("POST", "/v2/workspaces"): 403, ("GET", "/v2/workspaces"): 403,
        ("POST", "/v2/user/accessTokens"): 401, ("GET", "/v2/events"): 403,
    }
    for (method, url), status in refused.items():
        response = await stack.http.request(method, url, headers=bearer, json={"rules": [], "name": "k"})
        assert response.status_code == status, (method, url, response.text)
        assert "v-secret" not in response.text
    # A definition write that would change security.yml is refused; the same without it is allowed.
    everyone_manages = copy.deepcopy(initial_security())
    everyone_manages["authorizations"]["rules"].append({"action": "manage", "subject": "workspaces"})
    reimport = workspace_doc(FORWARD, security=everyone_manages)
    response = await stack.http.post(f"/v2/workspaces/{ws}/import", json=reimport, headers=bearer)
    assert response.status_code == 403 and "security.yml" in response.text, response.text
    kept = await stack.http.post(f"/v2/workspaces/{ws}/import?keepSecurity=true", json=reimport, headers=bearer)
    assert kept.status_code == 200, kept.text
    # Expired, or signed with another key: 401.
    settings = stack.services.settings
    past = ForwardedTokens.from_settings(settings)
    past.clock = lambda: datetime.now(UTC) - timedelta(minutes=10)
    expired = past.issue(ws, owner["id"])
    response = await stack.http.get(f"/v2/workspaces/{ws}", headers={"authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["message"] == "Expired token"
    forged = ForwardedTokens(signing_key(settings), 300).issue(ws, owner["id"])  # the session key, not the derived one
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers={"authorization": f"Bearer {forged}"})).status_code == 401


async def test_forwarded_token_is_never_a_superadmin_and_needs_a_user(served: tuple[Stack, str]) -> None:
    stack, base = served
    ws = (await stack.import_workspace(workspace_doc(FORWARD)))["id"]
    seen = await _forwarded_token(stack, base, {"authorization": stack.auth["authorization"]}, ws)
    token = seen["auth"].removeprefix("Bearer ")  # the admin token's run: user "admin", no role on ws
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers={"authorization": f"Bearer {token}"})).status_code == 403
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/forward", json={
        "url": f"{base}/v2/workspaces/{ws}/webhooks/whoami"})  # no caller: the run has no user
    assert response.status_code == 400 and "needs a run with a user" in response.json()["message"], response.text


async def test_forwarded_token_is_only_sent_to_tidewys_own_api(served: tuple[Stack, str]) -> None:
    stack, _ = served
    owner = await make_user(stack, "owner")
    ws = (await stack.http.post("/v2/workspaces/import", json=workspace_doc(FORWARD),
                                headers={"authorization": owner["authorization"]})).json()["workspace"]["id"]
    async with HttpStub([]) as elsewhere:
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/forward", json={"url": f"{elsewhere.url}/steal"},
                                         headers={"authorization": owner["authorization"]})
        assert response.status_code == 400 and response.json()["error"] == "FetchError", response.text
        assert "only sends the run's token to Tideway's own API" in response.json()["message"]
        assert "TIDEWAY_PUBLIC_URL" in response.json()["message"] and elsewhere.requests == []
