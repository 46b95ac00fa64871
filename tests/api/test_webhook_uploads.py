"""Webhook file uploads as the reference documents them (llmDoc 01-automations.md, "File uploads"):
a multipart file field arrives as ``body.<field> = {originalname, encoding, mimetype, size,
base64}``, other fields as strings. Here: file names in every spelling clients send
(``filename*`` of RFC 5987, raw UTF-8), the media type without its parameters, and a file
travelling on from the automation with ``fetch`` multipart, byte for byte.

(Multiple files, repeated names and nameless parts are in test_webhook_bodies.py; the size limits
in test_large_bodies.py.)"""

from __future__ import annotations

import base64
import hashlib
import os

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.api.helpers import ECHO, workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.stack import Stack

BOUNDARY = "uploadboundary"


def _body(*parts: tuple[bytes, bytes]) -> tuple[bytes, dict[str, str]]:
    """A multipart body from raw (headers, content) parts, as clients write them."""
    out = b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n" for head, content in parts)
    return out + f"--{BOUNDARY}--\r\n".encode(), {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


async def _echo_url(stack: Stack) -> str:
    ws = await stack.import_workspace(workspace_doc({"echo": ECHO}))
    return f"/v2/workspaces/{ws['id']}/webhooks/echo"


async def test_file_names_media_types_and_fields_as_the_reference_gives_them(sqlite_stack: Stack) -> None:
    url = await _echo_url(sqlite_stack)
    content, headers = _body(
        (b'Content-Disposition: form-data; name="cv"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9%20final.pdf\r\n'
         b"Content-Type: Application/PDF", b"%PDF-1.7"),
        ('Content-Disposition: form-data; name="photo"; filename="été.png"\r\nContent-Type: image/png'.encode(),
         b"\x89PNG"),
        (b'Content-Disposition: form-data; name="notes"; filename="n.txt"; filename*=utf-8\'\'%E2%82%AC.txt\r\n'
         b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8BIT", "10 €".encode()),
        (b'Content-Disposition: form-data; name="count"', b"42"),
    )
    response = await sqlite_stack.http.post(url, content=content, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()["body"]
    assert body["cv"] == {"originalname": "résumé final.pdf", "encoding": "7bit", "mimetype": "application/pdf",
                          "size": 8, "base64": base64.b64encode(b"%PDF-1.7").decode()}
    assert body["photo"]["originalname"] == "été.png" and body["photo"]["mimetype"] == "image/png"
    assert body["notes"] == {"originalname": "€.txt", "encoding": "8bit", "mimetype": "text/plain",
                             "size": len("10 €".encode()), "base64": base64.b64encode("10 €".encode()).decode()}
    assert body["count"] == "42"  # a plain field is a string


async def test_a_file_named_only_by_filename_star_gets_the_file_limits_not_the_field_limits(sqlite_stack: Stack) -> None:
    """Before, such a part was a text field: cut at UPLOADS_MAX_FIELD_BYTES, its bytes decoded as UTF-8."""
    url = await _echo_url(sqlite_stack)
    data = os.urandom(sqlite_stack.services.settings.uploads_max_field_bytes + 1)
    content, headers = _body((b'Content-Disposition: form-data; name="f"; filename*=UTF-8\'\'big.bin', data))
    response = await sqlite_stack.http.post(url, content=content, headers=headers)
    assert response.status_code == 200, response.text[:300]
    received = response.json()["body"]["f"]
    assert received["size"] == len(data) and base64.b64decode(received["base64"]) == data


async def _receive(request: Request) -> JSONResponse:
    form = await request.form()
    seen = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            seen[name] = {"filename": value.filename, "type": value.content_type, "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()}
        else:
            seen[name] = value
    return JSONResponse(seen)


FORWARD_UPLOAD = {"name": "upload", "when": {"endpoint": True}, "do": [{"fetch": {
    "url": "{{body.target}}", "output": "r",
    "multipart": [{"fieldname": "doc", "value": "{{body.doc.base64}}", "filename": "{{body.doc.originalname}}",
                   "contentType": "{{body.doc.mimetype}}"},
                  {"fieldname": "title", "value": "{{body.title}}"}]}}], "output": "{{r}}"}


async def test_an_uploaded_file_goes_on_with_fetch_multipart_byte_for_byte(sqlite_stack: Stack) -> None:
    ws = await sqlite_stack.import_workspace(workspace_doc({"upload": FORWARD_UPLOAD}))
    data = bytes(range(256)) * 64 + os.urandom(1000)
    async with HttpStub([], app=Starlette(routes=[Route("/in", _receive, methods=["POST"])])) as stub:
        response = await sqlite_stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/upload",
                                                data={"target": f"{stub.url}/in", "title": "Q3 report"},
                                                files={"doc": ("q3 report.bin", data, "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "doc": {"filename": "q3 report.bin", "type": "application/octet-stream", "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest()},
        "title": "Q3 report"}
