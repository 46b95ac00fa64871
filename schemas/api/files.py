"""Workspace files (docs/files.md): the reference's ``File`` record and the upload's fields."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas.api.common import Closed


class FileUpload(Closed):
    """``POST …/files`` as JSON (multipart takes the same fields as strings, with ``file`` the bytes
    or a data URI)."""

    file: str = Field(description="a data URI: `data:[<mediatype>][;base64],<data>` (multipart: the file's bytes)")
    expiresAfter: int | str | None = Field(default=None, description="seconds until the file expires and "
                                           "answers 404; the retention workflow then removes it")
    public: bool | str | None = Field(default=None, description="`true`: anyone with the URL may download "
                                      "it, without credentials. Default `false`")
    shareToken: bool | str | None = Field(default=None, description="`true`: generate a share token, shown "
                                          "once in this answer; `?token=<shareToken>` on the URL grants reading")
    metadata: dict[str, Any] | str | None = Field(default=None, description="a JSON object (multipart: its "
                                                  "JSON text), filterable with `query`")
    name: str | None = Field(default=None, description="the name to store, instead of the file's own "
                             "(`upload` for a data URI)")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"file": "data:text/plain;base64,SGVsbG8=", "name": "hello.txt", "expiresAfter": 3600,
         "metadata": {"kind": "greeting"}}]})


class FileRecord(Closed):
    """A stored file. ``url`` is its content (absolute, below TIDEWAY_PUBLIC_URL); ``shareToken``
    only in the upload's answer."""

    id: str
    name: str = Field(description="sanitized: the last path segment, no control characters, at most 255")
    mimetype: str
    size: int = Field(description="bytes")
    workspaceId: str
    path: str = Field(description="`<workspaceId>/<id>/<name>`: the file's key (informational)")
    url: str = Field(description="`…/v2/workspaces/<workspaceId>/files/<id>/content`")
    public: bool
    shared: bool = Field(description="whether a share token was generated")
    metadata: dict[str, Any]
    createdAt: str
    createdBy: str | None = None
    expiresAt: str | None = None
    expiresAfter: int | None = None
    shareToken: str | None = Field(default=None, description="only in the upload's answer: append it as "
                                   "`?token=` to `url`")
