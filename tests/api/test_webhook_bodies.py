"""Webhook request bodies (spec §2.3): JSON, urlencoded, multipart files, size limits as settings."""

from __future__ import annotations

import base64

from tests.api.helpers import ECHO, workspace_doc
from tests.stack import Stack


async def _echo(stack: Stack) -> str:
    ws = await stack.import_workspace(workspace_doc({"echo": ECHO}))
    return f"/v2/workspaces/{ws['id']}/webhooks/echo"


def _multipart(parts: list[tuple[str | None, str | None, bytes, str | None]]) -> tuple[bytes, str]:
    """Hand-built multipart (httpx cannot send a file part without a name)."""
    boundary = "tidewayboundary"
    out = b""
    for name, filename, content, ctype in parts:
        disposition = "form-data" + (f'; name="{name}"' if name is not None else "")
        disposition += f'; filename="{filename}"' if filename is not None else ""
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += f"Content-Type: {ctype}\r\n".encode() if ctype else b""
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def test_multipart_files_become_base64_objects(sqlite_stack: Stack) -> None:
    url = await _echo(sqlite_stack)
    png = bytes(range(256))
    response = await sqlite_stack.http.post(url, data={"title": "hello", "tag": ["a", "b"]}, files=[
        ("doc", ("report.txt", b"some text", "text/plain")), ("doc", ("img.png", png, "image/png"))])
    assert response.status_code == 200, response.text
    body = response.json()["body"]
    assert body["title"] == "hello" and body["tag"] == ["a", "b"]
    assert body["doc"] == [
        {"originalname": "report.txt", "encoding": "7bit", "mimetype": "text/plain", "size": 9,
         "base64": base64.b64encode(b"some text").decode()},
        {"originalname": "img.png", "encoding": "7bit", "mimetype": "image/png", "size": 256,
         "base64": base64.b64encode(png).decode()}]


async def test_multipart_file_without_field_name_is_file(sqlite_stack: Stack) -> None:
    url = await _echo(sqlite_stack)
    content, ctype = _multipart([(None, "a.bin", b"\x00\x01", None), ("x", None, b"1", None)])
    response = await sqlite_stack.http.post(url, content=content, headers={"content-type": ctype})
    assert response.status_code == 200, response.text
    body = response.json()["body"]
    assert body == {"file": {"originalname": "a.bin", "encoding": "7bit", "mimetype": "application/octet-stream",
                             "size": 2, "base64": "AAE="}, "x": "1"}


async def test_multipart_limits(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    url = await _echo(stack)
    limit = stack.services.settings.uploads_max_size
    stack.services.settings.uploads_max_size = 1000  # a small limit keeps the test fast
    try:
        big = await stack.http.post(url, files={"f": ("big.bin", b"x" * 1001, "application/octet-stream")})
        assert big.status_code == 413 and big.json()["error"] == "PayloadTooLargeError"
        assert "big.bin" in big.json()["message"]
        ok = await stack.http.post(url, files={"f": ("ok.bin", b"x" * 1000, "application/octet-stream")})
        assert ok.status_code == 200 and ok.json()["body"]["f"]["size"] == 1000
    finally:
        stack.services.settings.uploads_max_size = limit
    many = await stack.http.post(url, data={f"k{i}": "v" for i in range(51)}, files={"f": ("a", b"a")})
    assert many.status_code == 413 and "parts" in many.json()["message"]
    field = await stack.http.post(url, data={"big": "y" * (1024 * 1024 + 1)}, files={"f": ("a", b"a")})
    assert field.status_code == 413 and "'big'" in field.json()["message"]
    broken = await stack.http.post(url, content=b"--zz\r\nnot a part", headers={
        "content-type": "multipart/form-data; boundary=zz"})
    assert broken.status_code in (200, 400)  # never a 500


async def test_json_and_urlencoded_bodies_and_limit(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    url = await _echo(stack)
    form = await stack.http.post(url, content=b"a=1&b=x+y&a=2&empty=", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert form.json()["body"] == {"a": ["1", "2"], "b": "x y", "empty": ""}
    array = await stack.http.post(url, json=["x", "y"])
    assert array.json()["body"] == {"0": "x", "1": "y"}
    just_under = await stack.http.post(url, json={"blob": "x" * (99 * 1024)})
    assert just_under.status_code == 200
    too_big = await stack.http.post(url, json={"blob": "x" * (101 * 1024)})
    assert too_big.status_code == 413
    error = too_big.json()
    assert error["error"] == "PayloadTooLargeError" and "too large" in error["message"]
    assert error["details"]["limit"] == 100 * 1024
    big_form = await stack.http.post(url, data={"blob": "x" * (101 * 1024)})
    assert big_form.status_code == 413
