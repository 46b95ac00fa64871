"""The server side of push, pull and diff: which workspace a folder goes to, its current export,
and the import of the folder's zip (with progress bars on a terminal)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cli.connection import Connection, api_error, find_workspace, workspace_path
from cli.output import CliError, Steps
from cli.workspace_folder import problems_of, read_workspace, workspace_files, zip_workspace
from cli.yaml_lines import Locator, Place
from schemas.archive import parse_archive
from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidWorkspaceError

IMPORT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)  # a large workspace's import takes a while
CHUNK = 64 * 1024


def compiler_parts(folder: Path, place: Place, message: str, severity: str) -> list[tuple[str, str | None]]:
    """``<folder>/<file>:<line>:<col>: <severity>: <instruction path>: <message>``, in styled parts."""
    where = os.path.normpath(os.path.join(str(folder), place.file)) if place.file else str(folder)
    if place.line is not None:
        where += f":{place.line}:{place.column}"
    return [(f"{where}: ", "title"), (f"{severity}:", severity),
            (f" {place.path}: {message}" if place.path else f" {message}", None)]


def compiler_text(folder: Path, place: Place, message: str, severity: str) -> str:
    return "".join(text for text, _ in compiler_parts(folder, place, message, severity))


def compiler_line(folder: Path, locator: Locator, path: str, message: str, severity: str) -> str:
    """A problem of the import (``automations/a.yml: do[0]``) placed in the folder's files."""
    return compiler_text(folder, locator.place(path, message), message, severity)


def read_local(folder: Path) -> WorkspaceSource:
    """The folder's workspace; unreadable files are a CliError listing each one."""
    try:
        return read_workspace(folder)
    except InvalidWorkspaceError as exc:
        locator = Locator(folder)
        raise CliError(exc.message, exc.name, [compiler_line(folder, locator, path, message, "error")
                                                for path, message in problems_of(exc)]) from None


@dataclass
class Target:
    """Where a folder is pushed: an existing workspace (``summary``) or one to create."""

    reference: str
    summary: dict[str, Any] | None

    @property
    def id(self) -> str | None:
        return str(self.summary["id"]) if self.summary else None

    def describe(self, conn: Connection) -> str:
        if self.summary is None:
            return f"new workspace '{self.reference}' at {conn.url}"
        return f"workspace '{self.summary.get('slug')}' ({self.summary['id']}) at {conn.url}"


def push_target(conn: Connection, local: WorkspaceSource, workspace: str | None) -> Target:
    """The workspace ``--workspace`` names, else the one of index.yml's slug. Only a slug may be
    created, and only as index.yml names it (the import takes the slug from there)."""
    slug = local.index.get("slug")
    reference = workspace or (f"slug:{slug}" if isinstance(slug, str) and slug else None)
    if reference is None:
        raise CliError("which workspace? index.yml has no slug: give --workspace SLUG|ID", "MissingFieldError")
    found = find_workspace(conn, reference)
    wanted = reference.removeprefix("slug:")
    if found is None and wanted != slug:
        raise CliError(f"no workspace '{wanted}' at {conn.url}; to create it, set `slug: {wanted}` in index.yml",
                       "ObjectNotFoundError")
    return Target(wanted, found)


def fetch_export(conn: Connection, workspace_id: str, steps: Steps) -> WorkspaceSource:
    """The workspace's current definition, from its export (the import's own archive format)."""
    path = workspace_path(workspace_id, "export")
    try:
        with conn.client() as client, client.stream("GET", path) as response:
            if response.status_code >= 400:
                response.read()
                raise api_error(response)
            total = response.headers.get("content-length")
            steps.start("downloading the export", float(total) if total and total.isdigit() else None)
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                steps.advance(len(chunk))
    except httpx.HTTPError as exc:
        raise conn.failed(exc) from exc
    try:
        return parse_archive(bytes(data))
    except InvalidWorkspaceError as exc:
        raise CliError(f"the export of {workspace_id} does not read back: {exc.message}", exc.name) from None


def upload(data: bytes, steps: Steps) -> Iterator[bytes]:
    steps.start("uploading", float(len(data)))
    for start in range(0, len(data), CHUNK):
        steps.advance(min(CHUNK, len(data) - start))
        yield data[start:start + CHUNK]
    steps.start("importing", None)  # the server checks and stores it


def import_folder(conn: Connection, folder: Path, target: Target, prune: bool, steps: Steps) -> dict[str, Any]:
    """Zip the folder and import it; the import's answer (``{workspace, warnings, changed?}``).
    An invalid workspace is a CliError with each problem placed in the folder's files."""
    steps.start("zipping", float(sum((folder / p).stat().st_size for p in workspace_files(folder))))
    data = zip_workspace(folder, steps.advance)
    path = "/v2/workspaces/import" if target.id is None else workspace_path(target.id, "import")
    params = {} if target.id is None else {"prune": "true" if prune else "false"}
    headers = {"content-type": "application/zip", "content-length": str(len(data))}
    try:
        with conn.client(IMPORT_TIMEOUT) as client:
            response = client.post(path, params=params, headers=headers, content=upload(data, steps))
    except httpx.HTTPError as exc:
        raise conn.failed(exc) from exc
    if response.status_code >= 400:
        error = api_error(response)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        details = body.get("details") if isinstance(body, dict) else None
        if isinstance(details, list) and details and all(isinstance(d, dict) and "path" in d for d in details):
            locator = Locator(folder)
            error.lines = [compiler_line(folder, locator, str(d["path"]), str(d.get("message", "")), "error")
                           for d in details]
        raise error
    answer: dict[str, Any] = response.json()
    return answer
