"""``POST /codec/decode``: the Temporal UI/CLI codec endpoint answers superadmins only (issue 14 item 3).

It decrypts anything in Temporal history, secrets included, so anonymous callers, users who are
not superadmins, and cookie requests from any origin but the Temporal UI's get 401/403 and
nothing decoded. The last test drives the real ``temporal workflow show --codec-endpoint``
against the API served over HTTP, as an operator would."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.app import create_app
from api.cookies import SESSION_COOKIE
from core.infra.devserver import temporal_binary
from core.infra.payload_codec import ENCODING, EncryptionCodec
from tests.api.helpers import ECHO, make_user, workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.stack import ADMIN_TOKEN, Stack

UI = "http://127.0.0.1:8233"  # the dev server's Temporal UI (TEMPORAL_UI_PORT default)
OTHER_KEY = "2cP0Yd7Jp5g0Yd0bq9iX2W8kV6vH1r8m3O4tN5zQ1Ac="


def _codec(stack: Stack) -> EncryptionCodec:
    codec = stack.services.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    return codec


def _json(payloads: list[Payload]) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


async def _encrypted(stack: Stack, value: Any) -> tuple[dict[str, Any], bytes]:
    plain = stack.services.client.data_converter.payload_converter.to_payloads([value])
    encrypted = await _codec(stack).encode(plain)
    assert encrypted[0].metadata["encoding"] == ENCODING and json.dumps(value).encode() not in encrypted[0].data
    return _json(encrypted), plain[0].data


def _cookie(token: str) -> dict[str, str]:
    """The header a browser sends (the shared test client keeps no cookie jar)."""
    return {"cookie": f"{SESSION_COOKIE}={token}"}


def _data(answer: dict[str, Any]) -> list[bytes]:
    return [base64.b64decode(p["data"]) for p in answer["payloads"]]


async def _superadmin_cookie(stack: Stack) -> str:
    email = f"root-{uuid.uuid4().hex[:6]}@example.org"
    created = await stack.http.post("/v2/users", json={"email": email, "password": "correct horse",
                                                       "superadmin": True}, headers=stack.auth)
    assert created.status_code == 200, created.text
    login = await stack.http.post("/v2/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200 and SESSION_COOKIE in login.headers["set-cookie"]
    return str(login.json()["token"])  # the session cookie's value


async def test_the_admin_token_decodes_what_the_codec_encrypted(stack: Stack) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    body, plain = await _encrypted(stack, {"token": secret})
    answer = await stack.http.post("/codec/decode", json=body, headers={**stack.auth, "x-namespace": "default"})
    assert answer.status_code == 200, answer.text
    assert _data(answer.json()) == [plain] and answer.json()["payloads"][0]["metadata"]["encoding"] == \
        base64.b64encode(b"json/plain").decode()
    assert answer.headers["cache-control"] == "no-store"
    # The UI appends /decode to the endpoint it is given: a trailing slash gives //decode.
    again = await stack.http.post("/codec//decode", json=body, headers=stack.auth)
    assert again.status_code == 200 and _data(again.json()) == [plain]
    # A payload written before the codec (not encrypted) passes through.
    legacy = _json(stack.services.client.data_converter.payload_converter.to_payloads(["old run"]))
    passed = await stack.http.post("/codec/decode", json=legacy, headers=stack.auth)
    assert passed.status_code == 200 and passed.json() == legacy


async def test_nobody_but_a_superadmin_decodes(stack: Stack) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    body, _ = await _encrypted(stack, {"token": secret})
    user = await make_user(stack, "plain")
    refused = {
        "anonymous": await stack.http.post("/codec/decode", json=body),
        "anonymous from the UI": await stack.http.post("/codec/decode", json=body, headers={"origin": UI}),
        "wrong token": await stack.http.post("/codec/decode", json=body, headers={"authorization": "Bearer nope"}),
        "a user": await stack.http.post("/codec/decode", json=body, headers={"authorization": user["authorization"]}),
        "a user's cookie from the UI": await stack.http.post(
            "/codec/decode", json=body, headers={"origin": UI, **_cookie(user["token"])}),
    }
    statuses = {what: response.status_code for what, response in refused.items()}
    assert statuses == {"anonymous": 401, "anonymous from the UI": 401, "wrong token": 401, "a user": 403,
                        "a user's cookie from the UI": 403}, statuses
    for response in refused.values():
        assert secret not in response.text and "payloads" not in response.json()
    assert "superadmin" in refused["a user"].json()["message"]


async def test_a_superadmin_cookie_is_accepted_only_from_the_temporal_ui(stack: Stack) -> None:
    body, plain = await _encrypted(stack, {"token": "t"})
    cookie = _cookie(await _superadmin_cookie(stack))
    # The UI's request: no CSRF header (the UI cannot send one), credentials included.
    ok = await stack.http.post("/codec/decode", json=body, headers={**cookie, "origin": UI, "x-namespace": "default"})
    assert ok.status_code == 200, ok.text
    assert _data(ok.json()) == [plain]
    assert ok.headers["access-control-allow-origin"] == UI
    assert ok.headers["access-control-allow-credentials"] == "true"
    # Another site (or a page served by Tideway itself) riding the cookie: refused, nothing decoded.
    for origin in ("http://evil.example", "http://tideway.test", None):
        headers = {**cookie, **({"origin": origin} if origin else {})}
        refused = await stack.http.post("/codec/decode", json=body, headers=headers)
        assert refused.status_code == 403 and "payloads" not in refused.json(), (origin, refused.text)
        assert "Temporal UI" in refused.json()["message"]
        assert "access-control-allow-origin" not in refused.headers
    # The browser's preflight: allowed for the UI's origin only.
    preflight = await stack.http.options("/codec/decode", headers={
        "origin": UI, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-namespace"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == UI
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in preflight.headers["access-control-allow-headers"]
    other = await stack.http.options("/codec/decode", headers={"origin": "http://evil.example",
                                                               "access-control-request-method": "POST"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


async def test_bad_requests_name_the_problem(stack: Stack) -> None:
    body, _ = await _encrypted(stack, {"token": "t"})
    encode = await stack.http.post("/codec/encode", json=body, headers=stack.auth)
    assert encode.status_code == 404 and "only POST /codec/decode" in encode.json()["message"]
    not_payloads = await stack.http.post("/codec/decode", json={"payload": []}, headers=stack.auth)
    assert not_payloads.status_code == 400 and '{"payloads": [...]}' in not_payloads.json()["message"]
    for broken_body, where in (({"payloads": [{"data": "eA=="}, "x"]}, "payloads[1]"),
                               ({"payloads": [{"data": 5}]}, "data")):
        broken = await stack.http.post("/codec/decode", json=broken_body, headers=stack.auth)
        assert broken.status_code == 400 and "Invalid payloads" in broken.json()["message"], broken.text
        assert where in broken.json()["message"]
    # Encrypted under another installation's key: said so, with both key ids.
    foreign = _json(await EncryptionCodec(OTHER_KEY).encode(
        stack.services.client.data_converter.payload_converter.to_payloads(["x"])))
    refused = await stack.http.post("/codec/decode", json=foreign, headers=stack.auth)
    assert refused.status_code == 400 and refused.json()["error"] == "UndecodablePayloadError"
    assert EncryptionCodec(OTHER_KEY).key_id in refused.json()["message"]
    assert _codec(stack).key_id in refused.json()["message"]
    # Tampered ciphertext fails authentication.
    tampered = json.loads(json.dumps(body))
    data = bytearray(base64.b64decode(tampered["payloads"][0]["data"]))
    data[-1] ^= 1
    tampered["payloads"][0]["data"] = base64.b64encode(bytes(data)).decode()
    altered = await stack.http.post("/codec/decode", json=tampered, headers=stack.auth)
    assert altered.status_code == 400 and "altered" in altered.json()["message"]


async def _cli_show(address: str, workflow_id: str, *codec: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        temporal_binary(), "workflow", "show", "--address", address, "--workflow-id", workflow_id,
        "--output", "json", *codec, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_the_temporal_cli_shows_decoded_history_with_the_admin_token(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    marker = f"marker-{uuid.uuid4().hex}"
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO})))["id"]
    run = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json={"note": marker})
    assert run.status_code == 200 and run.json()["body"] == {"note": marker}
    client = stack.services.client
    executions: list = []
    for _ in range(100):  # visibility lags the run by a moment under load
        executions = [e async for e in client.list_workflows(f'WorkflowId STARTS_WITH "{ws}/echo/"')]
        if executions:
            break
        await asyncio.sleep(0.1)
    [execution] = executions
    address = client.service_client.config.target_host
    async with HttpStub([], app=create_app(stack.services)) as api:
        endpoint = f"{api.url}/codec"
        code, shown = await _cli_show(address, execution.id, "--codec-endpoint", endpoint,
                                      "--codec-auth", f"Bearer {ADMIN_TOKEN}")
        assert code == 0, shown
        assert marker in _decoded_text(shown), "the CLI shows the run input decoded"
        # A wrong token: the CLI gets 401s and gives up (it retries until its command timeout).
        code, refused = await _cli_show(address, execution.id, "--codec-endpoint", endpoint,
                                        "--codec-auth", "Bearer wrong", "--command-timeout", "3s")
        assert code != 0 and marker not in refused and marker not in _decoded_text(refused), refused
    code, raw = await _cli_show(address, execution.id)
    assert code == 0 and marker not in _decoded_text(raw), "without the codec the history is ciphertext"
    assert "binary/encrypted" in _decoded_text(raw)


def _decoded_text(cli_output: str) -> str:
    """The CLI's JSON with every base64 field decoded too (payload data is base64 in proto JSON)."""
    text = cli_output
    try:
        document = json.loads(cli_output)
    except ValueError:
        return text

    def walk(value: Any) -> None:
        nonlocal text
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            try:
                text += "\n" + base64.b64decode(value, validate=True).decode("utf-8", "replace")
            except ValueError:
                pass

    walk(document)
    return text

