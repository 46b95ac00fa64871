"""Importing the example workspaces on start: upserted by slug, never fatal."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

from core.services import Services
from schemas.archive import parse_archive
from schemas.errors import TidewayError


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


async def import_examples(services: Services, root: Path) -> str | None:
    """Upsert every folder of ``root``; returns a curl line for the first example webhook."""
    curl = None
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        try:
            source = parse_archive(zip_folder(folder))
            row, state = await services.workspaces.upsert(source, actor="examples")
        except TidewayError as exc:
            detail = "; ".join(f"{d.get('path')}: {d.get('message')}" for d in exc.details or []
                               if isinstance(d, dict)) if isinstance(exc.details, list) else ""
            print(f"example {folder.name}: not imported: {exc.message} {detail}", file=sys.stderr)
            continue
        print(f"example {folder.name}: {state} (workspace {row.id}, revision {row.revision})")
        if curl is None:
            compiled = await services.workspaces.compiled(row.id)
            if compiled.endpoints:
                name = sorted(compiled.endpoints)[0]
                curl = (f"curl -s -X POST {services.settings.public_url}/v2/workspaces/{row.id}/webhooks/{name}"
                        " -H 'content-type: application/json' -d '{\"name\": \"Ada\"}'")
    return curl
