"""Small builders shared by the API tests."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import yaml


def unique_slug(prefix: str = "ws") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def workspace_doc(automations: dict[str, Any], **index: Any) -> dict[str, Any]:
    slug = index.pop("slug", None) or unique_slug()
    return {"name": index.pop("name", "Test workspace"), "slug": slug, **index, "automations": automations}


def make_zip(files: dict[str, Any], folder: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
            zf.writestr(f"{folder}/{name}" if folder else name, text)
    return buffer.getvalue()


ECHO = {"name": "echo", "when": {"endpoint": True}, "do": [], "output": {"body": "{{body}}", "method": "{{method}}",
                                                                      "query": "{{query}}", "auth": "{{headers.authorization}}"}}
