"""Workspace files (docs/files.md) on both databases: upload (multipart and data URI), list,
get, download, delete; who may read the content (public, share token, ``read``) and the headers it
is served with; names; FILES_MAX_SIZE and the quota; expiry (404 at once, removed by the retention
step); an automation reading its own workspace's file by ``fetch``, and not another's."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from temporalio import activity
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.fetch_files import OwnFiles, OwnFileTarget
from activities.retention import RetentionActivities
from core.events.retention import RetentionPolicy
from core.files.names import content_disposition, sanitize_name
from schemas.retention import (
    RETENTION_DELETE_WORKSPACES,
    RETENTION_EXPIRED,
    RETENTION_FILES,
    RETENTION_PLAN,
    RETENTION_RECORD,
    CleanedRecord,
    RetentionInput,
    RetentionPlanResult,
    RetentionStep,
    WorkspaceDeletion,
)
from tests.api.helpers import make_user, workspace_doc
from tests.stack import Stack
from workflows.retention import RetentionWorkflow

FETCH = {"name": "read", "when": {"endpoint": True},
         "do": [{"fetch": {"url": "{{body.url}}", "outputMode": "{{body.mode}}", "output": "r"}}], "output": "{{r}}"}


async def _workspace(stack: Stack, automations: dict[str, Any] | None = None) -> str:
    return str((await stack.import_workspace(workspace_doc(automations or {})))["id"])


async def _upload(stack: Stack, ws: str, content: bytes = b"hello", name: str = "notes.txt",
                  mimetype: str = "text/plain", headers: dict[str, str] | None = None, **fields: str) -> Any:
    return await stack.http.post(f"/v2/workspaces/{ws}/files", files={"file": (name, content, mimetype)},
                                 data=fields, headers=stack.auth if headers is None else headers)


async def _uploaded(stack: Stack, ws: str, content: bytes = b"hello", **kwargs: Any) -> dict[str, Any]:
    response = await _upload(stack, ws, content, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    record: dict[str, Any] = body[0]
    return record


def _path(record: dict[str, Any]) -> str:
    return f"/v2/workspaces/{record['workspaceId']}/files/{record['id']}"


async def _count(stack: Stack, sql: str, **params: Any) -> int:
    async with stack.services.db.session() as session:
        return int((await session.exec(text(sql), params=params)).one()[0])  # type: ignore[call-overload]


async def _blob_id(stack: Stack, file_id: str) -> str:
    async with stack.services.db.session() as session:
        return str((await session.exec(text("SELECT blob_id FROM files WHERE id = :id"),  # type: ignore[call-overload]
                                       params={"id": file_id})).one()[0])


# -- the routes -------------------------------------------------------------------------------
async def test_upload_list_get_download_delete(stack: Stack) -> None:
    ws = await _workspace(stack)
    record = await _uploaded(stack, ws, b"hello", expiresAfter="3600", public="false", shareToken="true",
                             metadata='{"kind": "note", "n": 2}')
    base = stack.services.settings.public_url.rstrip("/")
    assert record["url"] == f"{base}/v2/workspaces/{ws}/files/{record['id']}/content"
    assert {k: record[k] for k in ("name", "mimetype", "size", "workspaceId", "public", "shared", "metadata",
                                   "expiresAfter")} == {
        "name": "notes.txt", "mimetype": "text/plain", "size": 5, "workspaceId": ws, "public": False,
        "shared": True, "metadata": {"kind": "note", "n": 2}, "expiresAfter": 3600}
    assert record["path"] == f"{ws}/{record['id']}/notes.txt" and record["shareToken"] and record["expiresAt"]
    other = await _uploaded(stack, ws, b'{"a": 1}', name="data.json", mimetype="application/json",
                            metadata='{"kind": "data"}')

    listed = await stack.http.get(f"/v2/workspaces/{ws}/files", headers=stack.auth)
    assert [f["id"] for f in listed.json()] == [other["id"], record["id"]]  # newest first by default
    assert "shareToken" not in listed.json()[1]  # shown once, at upload
    by_name = await stack.http.get(f"/v2/workspaces/{ws}/files", params={"sort": "name", "limit": 1, "page": 1},
                                   headers=stack.auth)
    assert [f["name"] for f in by_name.json()] == ["notes.txt"]
    # A page past any database integer (found by the schema fuzzing drill): 4xx naming it, not 500.
    huge = await stack.http.get(f"/v2/workspaces/{ws}/files", params={"page": 10**20, "limit": 500},
                                headers=stack.auth)
    assert huge.status_code in (400, 422) and "page" in huge.text, huge.text
    last = await stack.http.get(f"/v2/workspaces/{ws}/files", params={"page": 100_000, "limit": 500},
                                headers=stack.auth)
    assert last.status_code == 200 and last.json() == [], last.text
    for query, expected in (({"mimetype": "text/plain"}, [record["id"]]), ({"metadata.kind": "data"}, [other["id"]]),
                            ({"metadata.n": 2}, [record["id"]]), ({"metadata.n": "2"}, []),
                            ({"name": "data.json", "metadata.kind": "note"}, []), ({"metadata.missing": None},
                                                                                   [other["id"], record["id"]])):
        found = await stack.http.get(f"/v2/workspaces/{ws}/files", params={"query": json.dumps(query)},
                                     headers=stack.auth)
        assert [f["id"] for f in found.json()] == expected, (query, found.text)
    for params in ({"query": '{"size": 5}'}, {"query": "[1]"}, {"query": "{"}, {"sort": "-owner"}, {"limit": 0}):
        refused = await stack.http.get(f"/v2/workspaces/{ws}/files", params=params, headers=stack.auth)
        assert refused.status_code == 400 and refused.json()["error"] == "ValidationError", (params, refused.text)

    got = await stack.http.get(_path(record), headers=stack.auth)
    assert got.status_code == 200 and got.json()["url"] == record["url"] and got.json()["metadata"]["kind"] == "note"
    content = await stack.http.get(_path(record) + "/content", headers=stack.auth)
    assert content.status_code == 200 and content.content == b"hello"

    blob_id = await _blob_id(stack, record["id"])
    assert await _count(stack, "SELECT count(*) FROM blobs WHERE id LIKE :p", p=f"{blob_id}/%") == 1
    deleted = await stack.http.delete(_path(record), headers=stack.auth)
    assert deleted.status_code == 200 and deleted.json() == {"id": record["id"]}
    for path in (_path(record), _path(record) + "/content"):
        gone = await stack.http.get(path, headers=stack.auth)
        assert gone.status_code == 404 and gone.json()["error"] == "ObjectNotFoundError"
    assert (await stack.http.delete(_path(record), headers=stack.auth)).status_code == 404
    assert await _count(stack, "SELECT count(*) FROM blobs WHERE id LIKE :p", p=f"{blob_id}/%") == 0

    events = await stack.events(ws, types="workspaces.files.uploaded,workspaces.files.deleted", limit=10)
    kinds = sorted(e["type"] for e in events)
    assert kinds == ["workspaces.files.deleted", "workspaces.files.uploaded", "workspaces.files.uploaded"]
    for event in events:
        assert "shareToken" not in event["payload"] and event["payload"]["url"].endswith("/content")


async def test_data_uris_several_files_and_large_content(stack: Stack) -> None:
    ws = await _workspace(stack)
    as_json = await stack.http.post(f"/v2/workspaces/{ws}/files", json={
        "file": "data:image/png;base64," + base64.b64encode(b"\x89PNG...").decode(), "public": True,
        "metadata": {"from": "json"}}, headers=stack.auth)
    assert as_json.status_code == 200, as_json.text
    png = as_json.json()[0]
    assert (png["name"], png["mimetype"], png["size"], png["public"]) == ("upload", "image/png", 7, True)
    text_uri = await stack.http.post(f"/v2/workspaces/{ws}/files", files={"file": (None, "data:,a%20b")},
                                     data={"name": "dir/space.txt"}, headers=stack.auth)
    assert text_uri.status_code == 200, text_uri.text
    assert (text_uri.json()[0]["name"], text_uri.json()[0]["mimetype"]) == ("space.txt", "application/octet-stream")
    assert (await stack.http.get(_path(text_uri.json()[0]) + "/content", headers=stack.auth)).content == b"a b"

    big = bytes(range(256)) * 5000  # 1.28 MB: three chunks in the blob store
    several = await stack.http.post(f"/v2/workspaces/{ws}/files", files=[
        ("file", ("big.bin", big, "application/octet-stream")), ("file", ("empty.txt", b"", "text/plain"))],
        headers=stack.auth)
    assert several.status_code == 200, several.text
    stored, empty = several.json()
    assert (stored["size"], empty["size"]) == (len(big), 0)
    download = await stack.http.get(_path(stored) + "/content", headers=stack.auth)
    assert download.content == big and download.headers["content-length"] == str(len(big))
    assert (await stack.http.get(_path(empty) + "/content", headers=stack.auth)).content == b""


async def _raw_upload(stack: Stack, ws: str, filename: bytes, content: bytes = b"x") -> dict[str, Any]:
    """A multipart upload whose filename bytes are sent as they are (an HTTP client would escape
    control characters and quotes)."""
    boundary = b"rawboundary"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename +
            b'"\r\nContent-Type: text/plain\r\n\r\n' + content + b"\r\n--" + boundary + b"--\r\n")
    response = await stack.http.post(f"/v2/workspaces/{ws}/files", content=body, headers={
        **stack.auth, "content-type": "multipart/form-data; boundary=rawboundary"})
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()[0]
    return record


async def test_names_are_sanitized_and_headers_make_a_download(stack: Stack) -> None:
    ws = await _workspace(stack)
    for raw, expected in ((b"../../etc/passwd", "passwd"), (b"..\\..\\boot.ini", "boot.ini"),
                          ("a\x01b\x7f\u202egnp.exe".encode(), "abgnp.exe"), (b"..", "upload"), (b" / ", "upload"),
                          (b"x" * 300 + b".pdf", "x" * 251 + ".pdf")):
        record = await _raw_upload(stack, ws, raw)
        assert record["name"] == expected, raw
    html = await stack.http.post(f"/v2/workspaces/{ws}/files", json={
        "file": "data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode(),
        "name": 'r\u00e9sum\u00e9 "1".html'}, headers=stack.auth)
    assert html.status_code == 200, html.text
    served = await stack.http.get(_path(html.json()[0]) + "/content", headers=stack.auth)
    assert served.content == b"<script>alert(1)</script>"
    assert served.headers["content-type"] == "text/html"
    assert served.headers["content-disposition"] == (
        "attachment; filename=\"r_sum_ _1_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.html")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "sandbox"
    assert served.headers["cache-control"] == "private, no-store"
    odd = await _uploaded(stack, ws, b"x", mimetype="not a type")  # not a plain type/subtype
    assert odd["mimetype"] == "application/octet-stream"


def test_name_helpers() -> None:
    assert sanitize_name("/") == "upload" and sanitize_name("  a.txt ") == "a.txt"
    assert sanitize_name("\u200bzero\u200d.txt") == "zero.txt"
    assert content_disposition("plain.txt") == "attachment; filename=\"plain.txt\"; filename*=UTF-8''plain.txt"


async def test_public_files_share_tokens_and_private_ones(stack: Stack) -> None:
    ws = await _workspace(stack)
    private = await _uploaded(stack, ws, b"secret", shareToken="true")
    public = await _uploaded(stack, ws, b"for all", public="true")
    stranger = await make_user(stack, "stranger")

    anonymous = await stack.http.get(_path(private) + "/content")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "UnauthorizedError"
    wrong = await stack.http.get(_path(private) + "/content", params={"token": "not-the-token"})
    assert wrong.status_code == 403
    refused = await stack.http.get(_path(private) + "/content", headers={"authorization": stranger["authorization"]})
    assert refused.status_code == 403 and refused.json()["error"] == "ForbiddenError"
    shared = await stack.http.get(_path(private) + "/content", params={"token": private["shareToken"]})
    assert shared.status_code == 200 and shared.content == b"secret"
    assert shared.headers["referrer-policy"] == "no-referrer"
    # A share token opens its own file only.
    other = await _uploaded(stack, ws, b"other", shareToken="true")
    assert (await stack.http.get(_path(other) + "/content", params={"token": private["shareToken"]})).status_code == 403

    for headers in ({}, {"authorization": stranger["authorization"]}):
        open_ = await stack.http.get(_path(public) + "/content", headers=headers)
        assert open_.status_code == 200 and open_.content == b"for all"
        assert open_.headers["content-security-policy"] == "sandbox"
    # The record and the list stay behind the workspace's permissions, public or not.
    assert (await stack.http.get(_path(public))).status_code == 401
    assert (await stack.http.get(_path(public), headers={"authorization": stranger["authorization"]})).status_code == 403
    upload = await _upload(stack, ws, headers={"authorization": stranger["authorization"]})
    assert upload.status_code == 403
    # Another workspace's path does not reach the file, even public.
    elsewhere = await _workspace(stack)
    assert (await stack.http.get(f"/v2/workspaces/{elsewhere}/files/{public['id']}/content")).status_code == 404


async def test_size_limit_and_quota(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = await _workspace(stack)
    settings = stack.services.settings
    monkeypatch.setattr(settings, "files_max_size", 1000)
    blobs = await _count(stack, "SELECT count(*) FROM blobs")
    too_big = await _upload(stack, ws, b"x" * 1001)
    assert too_big.status_code == 413 and too_big.json()["error"] == "PayloadTooLargeError"
    assert too_big.json()["details"]["limit"] == 1000
    uri = "data:application/octet-stream;base64," + base64.b64encode(b"x" * 1001).decode()
    too_big_uri = await stack.http.post(f"/v2/workspaces/{ws}/files", json={"file": uri}, headers=stack.auth)
    assert too_big_uri.status_code == 413, too_big_uri.text
    assert (await _upload(stack, ws, b"x" * 1000)).status_code == 200

    monkeypatch.setattr(settings, "files_workspace_quota_bytes", 1500)
    over = await _upload(stack, ws, b"y" * 600)
    assert over.status_code == 413 and over.json()["error"] == "QuotaExceededError", over.text
    assert over.json()["details"] == {"limit": 1500, "used": 1000, "size": 600}
    assert "FILES_WORKSPACE_QUOTA_BYTES" in over.json()["message"]
    assert (await _upload(stack, ws, b"y" * 500)).status_code == 200  # exactly the quota
    listed = await stack.http.get(f"/v2/workspaces/{ws}/files", headers=stack.auth)
    assert sorted(f["size"] for f in listed.json()) == [500, 1000]
    assert await _count(stack, "SELECT count(*) FROM blobs") == blobs + 2  # nothing left by the refusals
    other = await _workspace(stack)  # the quota is per workspace
    assert (await _upload(stack, other, b"z" * 900)).status_code == 200

    # Two uploads at once cannot both take the last free bytes.
    racing = await _workspace(stack)
    answers = await asyncio.gather(*(_upload(stack, racing, bytes([n]) * 900) for n in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 413], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 413).json()
    assert refused["error"] == "QuotaExceededError" and refused["details"] == {"limit": 1500, "used": 900, "size": 900}
    listed = await stack.http.get(f"/v2/workspaces/{racing}/files", headers=stack.auth)
    assert [f["size"] for f in listed.json()] == [900]
    assert await _count(stack, "SELECT count(*) FROM blobs") == blobs + 4


# -- expiry -----------------------------------------------------------------------------------
async def test_expired_files_answer_404_and_the_retention_step_removes_them(stack: Stack) -> None:
    ws = await _workspace(stack)
    expiring = await _uploaded(stack, ws, b"soon gone", expiresAfter="3600", public="true")
    kept = await _uploaded(stack, ws, b"kept")
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with stack.services.db.session() as session:
        await session.exec(text("UPDATE files SET expires_at = :t WHERE id = :id"),  # type: ignore[call-overload]
                           params={"t": past, "id": expiring["id"]})
        await session.commit()
    for path in (_path(expiring), _path(expiring) + "/content"):
        assert (await stack.http.get(path, headers=stack.auth)).status_code == 404, path
    assert (await stack.http.get(_path(expiring) + "/content")).status_code == 404  # public, but expired
    listed = await stack.http.get(f"/v2/workspaces/{ws}/files", headers=stack.auth)
    assert [f["id"] for f in listed.json()] == [kept["id"]]
    blob_id = await _blob_id(stack, expiring["id"])

    retention = RetentionActivities(stack.services.db, RetentionPolicy.from_settings(stack.services.settings))
    now = datetime.now(UTC).isoformat()
    env = ActivityEnvironment()
    assert await env.run(retention.files, RetentionStep(now=now, dry_run=True)) >= 1
    assert await env.run(retention.files, RetentionStep(now=now)) >= 1
    assert await _count(stack, "SELECT count(*) FROM files WHERE id = :id", id=expiring["id"]) == 0
    assert await _count(stack, "SELECT count(*) FROM blobs WHERE id LIKE :p", p=f"{blob_id}/%") == 0
    assert await _count(stack, "SELECT count(*) FROM files WHERE workspace_id = :ws", ws=ws) == 1
    assert (await stack.http.get(_path(kept) + "/content", headers=stack.auth)).content == b"kept"


@activity.defn(name=RETENTION_EXPIRED)
async def _no_expired(step: RetentionStep) -> int:
    return 0


@activity.defn(name=RETENTION_FILES)
async def _three_files(step: RetentionStep) -> int:
    return 3


@activity.defn(name=RETENTION_PLAN)
async def _empty_plan(step: RetentionStep) -> RetentionPlanResult:
    return RetentionPlanResult()


@activity.defn(name=RETENTION_DELETE_WORKSPACES)
async def _none_deleted(request: WorkspaceDeletion) -> dict[str, int]:
    return {}


@activity.defn(name=RETENTION_RECORD)
async def _recorded(request: CleanedRecord) -> str:
    return request.event_id


async def test_the_retention_workflow_runs_the_files_step(temporal_env: WorkflowEnvironment) -> None:
    queue = f"files-retention-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_env.client, task_queue=queue, workflows=[RetentionWorkflow],
                      activities=[_no_expired, _three_files, _empty_plan, _none_deleted, _recorded]):
        result = await temporal_env.client.execute_workflow(
            "RetentionWorkflow", RetentionInput(), id=f"retention-files-{uuid.uuid4().hex[:8]}", task_queue=queue,
            result_type=dict)
    assert result["expiredFiles"] == 3 and result["eventId"]


# -- automations ------------------------------------------------------------------------------
async def test_an_automation_reads_its_own_workspace_files_only(stack: Stack) -> None:
    ws = await _workspace(stack, {"read": FETCH})
    own = await _uploaded(stack, ws, b"own bytes")
    binary = await _uploaded(stack, ws, b"\x00\x01\x02", name="b.bin", mimetype="application/octet-stream")

    async def read(url: str, mode: str = "body") -> Any:
        return await stack.http.post(f"/v2/workspaces/{ws}/webhooks/read", json={"url": url, "mode": mode})

    got = await read(own["url"])
    assert got.status_code == 200 and got.json() == "own bytes", got.text
    encoded = await read(binary["url"], "base64")
    assert base64.b64decode(encoded.json()) == b"\x00\x01\x02"
    detailed = await read(own["url"] + "?token=ignored", "detailed_response")
    assert detailed.json()["status"] == 200 and detailed.json()["headers"]["content-security-policy"] == "sandbox"
    missing = await read(own["url"].replace(own["id"], uuid.uuid4().hex), "detailed_response")
    assert missing.json()["status"] == 404

    other_ws = await _workspace(stack)
    foreign = await _uploaded(stack, other_ws, b"not yours", public="true", shareToken="true")
    for url in (foreign["url"], f"{foreign['url']}?token={foreign['shareToken']}",
                own["url"].replace(f"/workspaces/{ws}/", f"/workspaces/{other_ws}/")):
        refused = await read(url)
        assert refused.status_code == 400 and refused.json()["error"] == "FetchError", refused.text
        assert "its own workspace" in refused.json()["message"]
        assert "not yours" not in refused.text


def test_only_the_content_urls_of_this_tideway_are_served_by_the_activity() -> None:
    """Everything else keeps going through the egress policy (activities/fetch.py)."""
    files = OwnFiles(None, httpx.URL("https://tideway.example.com/api"))  # type: ignore[arg-type]
    assert files.target("https://tideway.example.com/api/v2/workspaces/w1/files/f1/content?token=x") == \
        OwnFileTarget("w1", "f1")
    assert files.target("https://tideway.example.com:443/api/v2/workspaces/slug:shop/files/f1/content") == \
        OwnFileTarget("slug:shop", "f1")
    for url in ("https://tideway.example.com/v2/workspaces/w1/files/f1/content",  # outside the prefix
                "http://tideway.example.com/api/v2/workspaces/w1/files/f1/content",  # another scheme
                "https://tideway.example.com:8443/api/v2/workspaces/w1/files/f1/content",
                "https://evil.example.com/api/v2/workspaces/w1/files/f1/content",
                "https://tideway.example.com/api/v2/workspaces/w1/files/f1",  # the record, not the content
                "https://tideway.example.com/api/v2/workspaces/w1/files/f1/content/more", "not a url", None):
        assert files.target(url) is None, url
